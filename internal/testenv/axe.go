package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// AxeCoreVersion is the axe-core release the accessibility tests run:
// pinned, so that a new release's new rules do not turn a run red
// overnight.
const AxeCoreVersion = "4.14.1"

// npmInstallTimeout bounds one npm install on a slow, shared machine.
const npmInstallTimeout = 5 * time.Minute

// AxeCore returns the source of axe.min.js (axe-core, the accessibility
// checker, from the npm registry) at AxeCoreVersion, for a test to run in
// a page. It is installed once with the machine's npm into a cache
// directory ($XDG_CACHE_HOME/sunoye-testenv, or the temp dir) and reused
// by later runs and by tests running in parallel (each installs into a
// directory of its own and renames it into place).
//
// Without npm the test is skipped, naming the Debian package; under CI it
// fails, as NeedBinary does. A failed install fails the test.
func AxeCore(t testing.TB) string {
	t.Helper()
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "sunoye-testenv", "axe-core@"+AxeCoreVersion)
	script := filepath.Join(dir, "node_modules", "axe-core", "axe.min.js")
	if src, err := axeSource(dir, script); err == nil {
		return src
	}
	npm := NeedBinary(t, "npm", "npm")
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".axe-core-*")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), npmInstallTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "install", "--prefix", tmp, "--no-save", "--no-audit", "--no-fund",
		"--ignore-scripts", "--loglevel=error", "axe-core@"+AxeCoreVersion)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testenv: npm install axe-core@%s: %v\n%s", AxeCoreVersion, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, os.ErrExist) {
		// Another test renamed its copy into place first: use that one.
		if _, serr := os.Stat(script); serr != nil {
			t.Fatalf("testenv: put axe-core in place: %v", err)
		}
	}
	src, err := axeSource(dir, script)
	if err != nil {
		t.Fatalf("testenv: axe-core after installing it: %v", err)
	}
	return src
}

// axeSource reads the installed axe.min.js, checking that it is the
// pinned version.
func axeSource(dir, script string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", "axe-core", "package.json"))
	if err != nil {
		return "", err
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		return "", err
	}
	if pkg.Version != AxeCoreVersion {
		return "", errors.New("axe-core " + pkg.Version + " installed, want " + AxeCoreVersion)
	}
	src, err := os.ReadFile(script)
	return string(src), err
}
