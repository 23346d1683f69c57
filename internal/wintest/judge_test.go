package wintest

import (
	"slices"
	"strings"
	"testing"
)

// Only Wine's TempDir removal is forgiven: a test with any other failure
// line, a failing subtest, or one that never finished, counts as failed.
func TestJudgeForgivesOnlyWinesTempDirRemoval(t *testing.T) {
	out := strings.Join([]string{
		"=== RUN   TestClean",
		"--- PASS: TestClean (0.00s)",
		"=== RUN   TestWineOnly",
		`    testing.go:1464: TempDir RemoveAll cleanup: unlinkat C:\users\root\Temp\TestWineOnly1\001: Invalid function.`,
		"--- FAIL: TestWineOnly (0.00s)",
		"=== RUN   TestReal",
		"    x_test.go:10: got 1, want 2",
		`    testing.go:1464: TempDir RemoveAll cleanup: unlinkat C:\users\root\Temp\TestReal1\001: Invalid function.`,
		"--- FAIL: TestReal (0.00s)",
		"=== RUN   TestParent",
		"=== RUN   TestParent/ok",
		"=== RUN   TestParent/bad",
		"    x_test.go:20: broken",
		"--- FAIL: TestParent (0.00s)",
		"    --- PASS: TestParent/ok (0.00s)",
		"    --- FAIL: TestParent/bad (0.00s)",
		"=== RUN   TestSkipped",
		"    x_test.go:30: testenv: mosquitto: Linux program (Debian package mosquitto) that a Windows test binary cannot start; this test runs on Linux",
		"--- SKIP: TestSkipped (0.00s)",
		"=== RUN   TestHung",
		"panic: test timed out after 14m0s",
		"FAIL",
	}, "\n") + "\n"
	res, err := judge([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.wineOnly, []string{"TestWineOnly"}) {
		t.Errorf("forgiven: %v, want only TestWineOnly", res.wineOnly)
	}
	for _, name := range []string{"TestReal", "TestParent/bad", "TestHung"} {
		if _, ok := res.failed[name]; !ok {
			t.Errorf("%s not counted as failed (failed: %v)", name, sortedKeys(res.failed))
		}
	}
	if reason := res.skipped["TestSkipped"]; !platformSkip(reason) {
		t.Errorf("skip reason %q not taken for a platform fact", reason)
	}
	if !slices.Contains(res.passed, "TestClean") || !slices.Contains(res.passed, "TestParent/ok") {
		t.Errorf("passed: %v", res.passed)
	}
}
