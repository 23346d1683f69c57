package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
)

// CI reports whether the tests run under continuous integration, that is
// whether the environment variable CI is true (as CI services set it).
func CI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// sbinDirs are searched after PATH because the servers live in sbin
// (mosquitto, mariadbd) and an ordinary user's PATH often lacks it.
var sbinDirs = []string{"/usr/local/sbin", "/usr/sbin", "/sbin"}

// NeedBinary returns the absolute path of the named program, looked up in
// PATH and then in the sbin directories.
//
// If the program is missing, NeedBinary skips the test, naming the Debian
// package that provides it. Under CI it fails the test instead, because
// there a missing program means a broken CI image, and a skip would hide
// that the test never ran. This is the only place that applies the rule.
func NeedBinary(t testing.TB, name, debianPackage string) string {
	t.Helper()
	if path, err := exec.LookPath(name); err == nil {
		if abs, err := filepath.Abs(path); err == nil {
			return abs
		}
		return path
	}
	for _, dir := range sbinDirs {
		path := filepath.Join(dir, name)
		if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return path
		}
	}
	if runtime.GOOS == "windows" {
		// The Windows test binaries run under Wine (internal/wintest),
		// which cannot start the Linux servers: a platform fact, not a
		// broken CI image.
		t.Skipf("testenv: %s: Linux program (Debian package %s) that a Windows test binary cannot start; this test runs on Linux", name, debianPackage)
	}
	const format = "testenv: program %q not found in PATH or sbin; install the Debian package %s (apt-get install -y %s)"
	if CI() {
		t.Fatalf(format, name, debianPackage, debianPackage)
	} else {
		t.Skipf(format, name, debianPackage, debianPackage)
	}
	return ""
}
