package testenv

import (
	"os/exec"
	"testing"
)

// PythonWith returns the path of a python3 interpreter that can import
// module (for example "paho.mqtt", which Debian's python3-paho-mqtt
// provides). The python3 found first in PATH is tried first, then the
// system's /usr/bin/python3: a Python version manager's python3 (pyenv)
// often shadows the system one and lacks Debian's packages.
//
// If no interpreter can import the module, PythonWith skips the test,
// naming the Debian package; under CI it fails the test, as NeedBinary
// does.
func PythonWith(t testing.TB, module, debianPackage string) string {
	t.Helper()
	var candidates []string
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, "/usr/bin/python3")
	for _, py := range candidates {
		if exec.Command(py, "-c", "import "+module).Run() == nil {
			return py
		}
	}
	const format = "testenv: no python3 (tried %v) can import %s; install the Debian package %s (apt-get install -y %s)"
	if CI() {
		t.Fatalf(format, candidates, module, debianPackage, debianPackage)
	} else {
		t.Skipf(format, candidates, module, debianPackage, debianPackage)
	}
	return ""
}
