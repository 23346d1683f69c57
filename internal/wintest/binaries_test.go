package wintest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
)

// wineOnlyFailure is the one failure line that Wine alone causes: Go 1.26's
// os.RemoveAll deletes through NtSetInformationFile's
// FileDispositionInformationEx, which Wine 8 answers STATUS_NOT_IMPLEMENTED
// ("Invalid function"), a status Go does not take for "fall back". So the
// removal of every t.TempDir fails under Wine, never on Windows 10 1607+.
var wineOnlyFailure = regexp.MustCompile(`^\s*testing\.go:\d+: TempDir RemoveAll cleanup: unlinkat .*: Invalid function\.$`)

// platformSkips are the reasons a test may skip on Windows: platform facts.
var platformSkips = []*regexp.Regexp{
	regexp.MustCompile(`Linux program \(Debian package [^)]+\) that a Windows test binary cannot start`),
	regexp.MustCompile(`Windows has no Unix file modes`),
	regexp.MustCompile(`Wine does not enforce named pipes' security descriptors`),
}

// The Windows test binaries of rooms, mqttx, db and internal/userpipe pass
// under Wine, but for the tests that need a Linux server (mosquitto,
// MariaDB) or Unix file modes, which skip, and for Wine's failing
// t.TempDir removal (wineOnlyFailure), which is told apart from real
// failures line by line. The report lists each.
func TestWindowsTestBinaries(t *testing.T) {
	w := testenv.StartWine(t)
	dir := t.TempDir()
	for _, pkg := range []string{"rooms", "mqttx", "db", "internal/userpipe"} {
		t.Run(strings.ReplaceAll(pkg, "/", "_"), func(t *testing.T) {
			exe := filepath.Join(dir, filepath.Base(pkg)+".test.exe")
			build := exec.Command("go", "test", "-c", "-o", exe, "github.com/sunoye/sunoye/"+pkg)
			build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go test -c for Windows: %v\n%s", err, out)
			}
			start := time.Now()
			ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
			defer cancel()
			cmd := w.Command(ctx, exe, "-test.v", "-test.timeout", "14m")
			// The tests' temp files go to the prefix's Temp; cwd is the
			// package's source, for testdata.
			src, _ := exec.Command("go", "list", "-f", "{{.Dir}}", "github.com/sunoye/sunoye/"+pkg).Output()
			cmd.Dir = strings.TrimSpace(string(src))
			out, runErr := cmd.CombinedOutput()
			took := time.Since(start)
			res, err := judge(out)
			if err != nil {
				t.Fatalf("reading the test output: %v\n%s", err, out)
			}
			t.Logf("%s under Wine in %v: %d passed, %d skipped, %d failed only by Wine's TempDir removal, %d failed",
				pkg, took.Round(time.Millisecond), len(res.passed), len(res.skipped), len(res.wineOnly), len(res.failed))
			for _, name := range sortedKeys(res.skipped) {
				t.Logf("  skipped %s: %s", name, res.skipped[name])
			}
			if len(res.wineOnly) > 0 {
				t.Logf("  failed only by Wine's TempDir removal: %s", strings.Join(res.wineOnly, " "))
			}
			for _, name := range sortedKeys(res.failed) {
				t.Errorf("%s failed under Wine:\n%s", name, res.failed[name])
			}
			for _, name := range sortedKeys(res.skipped) {
				if !platformSkip(res.skipped[name]) {
					t.Errorf("%s skipped for a reason that is no platform fact: %s", name, res.skipped[name])
				}
			}
			if len(res.passed) == 0 {
				t.Errorf("no test passed (exit %v):\n%s", runErr, out)
			}
			if runErr != nil && len(res.failed) == 0 && len(res.wineOnly) == 0 {
				t.Errorf("the test binary failed (%v) with no failing test:\n%s", runErr, out)
			}
		})
	}
}

type results struct {
	passed   []string
	wineOnly []string
	skipped  map[string]string // test: reason
	failed   map[string]string // test: output
}

// judge reads a test binary's -test.v output through test2json: each
// failed test whose own output, and whose failed subtests', holds nothing
// but wineOnlyFailure lines counts as failed only by Wine.
func judge(out []byte) (*results, error) {
	conv := exec.Command("go", "tool", "test2json")
	conv.Stdin = bytes.NewReader(out)
	events, err := conv.Output()
	if err != nil {
		return nil, err
	}
	type event struct{ Action, Test, Output string }
	output := map[string][]string{}
	action := map[string]string{}
	var order []string
	dec := json.NewDecoder(bytes.NewReader(events))
	for dec.More() {
		var e event
		if err := dec.Decode(&e); err != nil {
			return nil, err
		}
		if e.Test == "" {
			continue
		}
		switch e.Action {
		case "run":
			order = append(order, e.Test)
		case "output":
			line := strings.TrimRight(e.Output, "\n")
			if t := strings.TrimSpace(line); !strings.HasPrefix(t, "=== ") && !strings.HasPrefix(t, "--- ") {
				output[e.Test] = append(output[e.Test], line)
			}
		case "pass", "fail", "skip":
			action[e.Test] = e.Action
		}
	}
	// Subtests come after their parent in order: judge children first.
	wineOnly := map[string]bool{}
	res := &results{skipped: map[string]string{}, failed: map[string]string{}}
	for i := len(order) - 1; i >= 0; i-- {
		name := order[i]
		switch action[name] {
		case "pass":
			res.passed = append(res.passed, name)
		case "skip":
			res.skipped[name] = strings.TrimSpace(strings.Join(output[name], " "))
		case "fail", "":
			own := true
			for _, l := range output[name] {
				if !wineOnlyFailure.MatchString(l) {
					own = false
				}
			}
			for _, child := range order {
				if strings.HasPrefix(child, name+"/") && action[child] != "pass" && action[child] != "skip" && !wineOnly[child] {
					own = false
				}
			}
			if own && action[name] == "fail" {
				wineOnly[name] = true
				res.wineOnly = append(res.wineOnly, name)
			} else if !hasFailedChild(name, order, action) || len(output[name]) > 0 {
				res.failed[name] = fmt.Sprintf("(%s)\n%s", orUnfinished(action[name]), strings.Join(output[name], "\n"))
			}
		}
	}
	sort.Strings(res.wineOnly)
	return res, nil
}

func hasFailedChild(name string, order []string, action map[string]string) bool {
	for _, c := range order {
		if strings.HasPrefix(c, name+"/") && action[c] == "fail" {
			return true
		}
	}
	return false
}

func orUnfinished(a string) string {
	if a == "" {
		return "did not finish"
	}
	return a
}

func platformSkip(reason string) bool {
	for _, re := range platformSkips {
		if re.MatchString(reason) {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
