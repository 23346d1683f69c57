package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/sunoye/sunoye/web"
)

// The pause after wrong passwords survives a restart of the daemon: the
// record is in state.json (0600), and the restarted daemon refuses the
// room, with exit 10, for the rest of the pause.
func TestPauseSurvivesRestart(t *testing.T) {
	b := embeddedBackend(t)
	ds := b.daemons(t, "Asha", "Mallory")
	asha, mallory := ds[0], ds[1]
	inv := create(t, asha)
	c := mallory.Client()
	guess := 0
	join := func() string {
		guess++
		_, err := c.Join(t.Context(), inv.Room, fmt.Sprintf("wrong-guess-%d", guess))
		return apiCode(err)
	}
	for i := range 5 {
		if got := join(); got != web.CodeWrongPass {
			t.Fatalf("guess %d: %s, want %s", i+1, got, web.CodeWrongPass)
		}
	}
	wantExit(t, mallory, "wrong-guess\n", exitTooMany, []string{"try again in"}, "join", inv.Room)
	// Pauses double: 1 s after the fifth wrong password, 2 s after the
	// sixth, 4 s after the seventh, 8 s after the eighth; a guess once
	// each has ended makes the next one, until one outlasts a restart.
	for failures := 5; failures < 8; {
		eventually(t, 20*time.Second, func() error {
			if got := join(); got != web.CodeWrongPass {
				return fmt.Errorf("still paused after %d wrong passwords: %s", failures, got)
			}
			return nil
		})
		failures++
	}
	pausedAt := time.Now()

	st, err := os.Stat(filepath.Join(mallory.StateDir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("state.json has mode %v, want 0600", st.Mode().Perm())
	}
	mallory.Kill(t) // not even a clean stop saves it: each failure did
	mallory.Start(t)
	r := wantExit(t, mallory, inv.Password+"\n", exitTooMany, []string{"too many wrong passwords", "try again in"}, "join", inv.Room)
	left := time.Since(pausedAt)
	m := regexp.MustCompile(`try again in (\d+)s`).FindStringSubmatch(r.Stderr)
	if m == nil {
		t.Fatalf("no wait in %q", r.Stderr)
	}
	if n, _ := strconv.Atoi(m[1]); n < 1 || n > 9 {
		t.Errorf("after a restart %v into an 8 s pause: try again in %ss", left.Round(time.Millisecond), m[1])
	}
	// The right password works once the pause is over, and the record is
	// gone with it.
	eventually(t, 20*time.Second, func() error {
		_, err := c.Join(t.Context(), inv.Room, inv.Password)
		if code := apiCode(err); code != "success" {
			return fmt.Errorf("right password: %s", code)
		}
		return nil
	})
	b2, err := os.ReadFile(filepath.Join(mallory.StateDir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if regexp.MustCompile(`"failed_joins"`).Match(b2) {
		t.Errorf("after the right password state.json still records failures:\n%s", b2)
	}
}
