package testenv

import (
	"testing"
	"time"
)

// Eventually retries f until it returns nil, and fails the test with f's
// last error once within has passed: a wait for a condition, not for a
// time that only an idle machine meets.
func Eventually(t testing.TB, within time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
