package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
)

// Each way of failing to join has its own exit code and message, and
// leaves nothing joined.
func TestJoinFailures(t *testing.T) {
	b := embeddedBackend(t)
	ds := b.daemons(t, "Asha", "Bilal")
	asha, bilal := ds[0], ds[1]
	inv := create(t, asha)

	wantExit(t, bilal, "not-the-password\n", exitWrongPass, []string{"wrong password", inv.Room}, "join", inv.Room)
	wantExit(t, bilal, "", exitWrongPass, []string{"wrong password"}, "join", inv.Room, "--password", strings.ToUpper(inv.Password))
	wantExit(t, bilal, "whatever-pass\n", exitNoSuchRoom, []string{"no such room"}, "join", "123456789")
	for _, bad := range []string{"12345", "1' OR '1'='1", "r1", "0123456789", "４８２９１３０５７"} {
		wantExit(t, bilal, "whatever-pass\n", exitUsage, []string{"room number"}, "join", bad)
	}
	wantExit(t, bilal, "", exitUsage, []string{"no password"}, "join", inv.Room)

	// The room closes when its last member leaves; joining it then is
	// refused as inactive, even with the right password.
	must(t, asha, "leave", inv.Room, "--yes")
	wantExit(t, bilal, inv.Password+"\n", exitRoomInactive, []string{"inactive"}, "join", inv.Room)

	if rs := roomsJSON(t, bilal); len(rs) != 0 {
		t.Errorf("after failed joins Bilal is in %+v", rs)
	}
	wantExit(t, asha, "", exitNotJoined, []string{"not joined"}, "send", inv.Room, "hello")
	wantExit(t, asha, "", exitNotJoined, []string{"not joined"}, "leave", inv.Room)
}

func TestCreateRules(t *testing.T) {
	b := embeddedBackend(t)
	asha := b.daemons(t, "Asha")[0]
	wantExit(t, asha, "", exitUsage, []string{"at least 8 characters"}, "create", "--password", "short")
	wantExit(t, asha, "", exitUsage, []string{"at least 8 characters"}, "create", "--password", "short", "--weak-password")
	// A password easy to guess: refused with the reason and the way to
	// insist, whichever way it comes.
	for _, way := range []struct {
		env, stdin string
		args       []string
	}{
		{"", "", []string{"--password", "exactly8"}},
		{"", "exactly8\n", []string{"--password-file", "-"}},
		{"SUNOYE_PASSWORD=exactly8", "", nil},
	} {
		var env []string
		if way.env != "" {
			env = []string{way.env}
		}
		r := asha.RunEnv(t, env, way.stdin, append([]string{"create"}, way.args...)...)
		if r.Code != exitUsage || !strings.Contains(r.Stderr, "estimated") || !strings.Contains(r.Stderr, "--weak-password") {
			t.Errorf("create %v %v: exit %d, %q; want exit %d with the estimate and --weak-password", way.env, way.args, r.Code, r.Stderr, exitUsage)
		}
	}
	inv := create(t, asha, "--password", "exactly8", "--weak-password")
	if inv.Password != "exactly8" {
		t.Errorf("create kept password %q", inv.Password)
	}
	if strong := create(t, asha, "--password", "correct horse battery staple glacier"); strong.Password != "correct horse battery staple glacier" {
		t.Errorf("create kept password %q", strong.Password)
	}
	// Text output names both, for a human to pass on.
	out := must(t, asha, "create")
	if !strings.Contains(out, "room:") || !strings.Contains(out, "password:") {
		t.Errorf("create printed %q", out)
	}
	if rs := roomsJSON(t, asha); len(rs) != 3 {
		t.Errorf("Asha is in %d rooms, want 3", len(rs))
	}
}

func TestSendRules(t *testing.T) {
	b := embeddedBackend(t)
	asha := b.daemons(t, "Asha")[0]
	inv := create(t, asha)
	wantExit(t, asha, "", exitUsage, []string{"empty"}, "send", inv.Room, "   ")
	wantExit(t, asha, "", exitUsage, []string{"too long"}, "send", inv.Room, strings.Repeat("x", 4097))
	must(t, asha, "send", inv.Room, strings.Repeat("é", 2048)) // 4096 bytes: the limit itself
	r := asha.RunStdin(t, "from standard input\n", "send", inv.Room, "-")
	if r.Code != 0 {
		t.Fatalf("send -: %s", r.Stderr)
	}
	got := texts(history(t, asha, inv.Room))
	if len(got) != 2 || got[1] != "Asha: from standard input" {
		t.Errorf("history = %q", got)
	}
}

// A command with no daemon behind it says so and how to start one.
func TestNoDaemon(t *testing.T) {
	bin := testenv.Sunoye(t)
	dir := t.TempDir()
	for _, args := range [][]string{{"rooms"}, {"create"}, {"send", "123456789", "hi"}, {"tail", "123456789"},
		{"leave", "123456789"}, {"mute", "123456789"}, {"dnd", "on"}, {"join", "123456789", "--password", "tide-amber-4821"}} {
		cmd := exec.Command(bin, append([]string{"--state-dir", dir}, args...)...)
		cmd.Env = append(os.Environ(), "SUNOYE_CONFIG=/nonexistent")
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !asExit(err, &ee) || ee.ExitCode() != exitNoDaemon {
			t.Errorf("%v: %v, want exit %d", args, err, exitNoDaemon)
		}
		if !strings.Contains(string(out), "no SunOye daemon is running") || !strings.Contains(string(out), "sunoye up") {
			t.Errorf("%v printed %q", args, out)
		}
	}
}

// One state directory has one daemon: a second one is refused and names
// the first one's pid; the first one keeps working.
func TestSecondDaemonRefused(t *testing.T) {
	b := embeddedBackend(t)
	asha := b.daemons(t, "Asha")[0]
	cmd := exec.Command(testenv.Sunoye(t), "up", "--headless", "--state-dir", asha.StateDir,
		"--broker", b.others, "--db", b.db)
	cmd.Env = append(os.Environ(), "SUNOYE_CONFIG=/nonexistent")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !asExit(err, &ee) || ee.ExitCode() != exitLocked {
		t.Fatalf("second up: %v, want exit %d; output %s", err, exitLocked, out)
	}
	if !strings.Contains(string(out), "pid "+strconv.Itoa(asha.PID())) {
		t.Errorf("second up printed %q, want the first daemon's pid %d", out, asha.PID())
	}
	create(t, asha) // the first still answers
}

// Unreachable or malformed broker and registry: a clear error naming which
// and where, without the password, and exit 8 (unreachable) or 2 (malformed).
func TestUnreachable(t *testing.T) {
	bin := testenv.Sunoye(t)
	sqlite := "sqlite://" + filepath.Join(t.TempDir(), "r.db")
	dead := closedPort(t)
	tests := []struct {
		name, broker, db string
		code             int
		says             []string
	}{
		{"mysql down", "embedded://" + closedPort(t), "mysql://sunoye:hunter2secret@" + dead + "/sunoye", exitUnavailable,
			[]string{"registry", "mysql://sunoye@" + dead + "/sunoye", "unreachable"}},
		{"broker down", "tcp://" + dead, sqlite, exitUnavailable, []string{"broker", "tcp://" + dead}},
		{"broker with password down", "tcp://user:hunter2secret@" + dead, sqlite, exitUnavailable, []string{"broker", dead}},
		{"malformed db", "tcp://" + dead, "postgres://x@y/z", exitUsage, []string{"mysql://", "sqlite://"}},
		{"malformed broker", "htp:/nowhere", sqlite, exitUsage, []string{"tcp://"}},
		{"broker list, every node down", "tcp://user:hunter2secret@" + dead + ",tcp://user:hunter2secret@" + closedPort(t), sqlite, exitUnavailable,
			[]string{"broker", "tcp://user:xxxxx@" + dead + ",tcp://user:xxxxx@"}},
		{"broker list, one URL malformed", "tcp://" + dead + ",tcp://h:0", sqlite, exitUsage, []string{"broker 2 of 2", `"tcp://h:0"`, "bad port"}},
		{"broker list with embedded://", "embedded://" + dead + ",tcp://" + dead, sqlite, exitUsage, []string{"cannot be part of a list"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			// A daemon that does not notice must not hang the test.
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "up", "--headless", "--state-dir", dir, "--broker", tt.broker, "--db", tt.db)
			cmd.Env = append(os.Environ(), "SUNOYE_CONFIG=/nonexistent")
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !asExit(err, &ee) || ee.ExitCode() != tt.code {
				t.Errorf("up: %v, want exit %d; output:\n%s", err, tt.code, out)
			}
			for _, s := range tt.says {
				if !strings.Contains(string(out), s) {
					t.Errorf("output does not say %q:\n%s", s, out)
				}
			}
			if strings.Contains(string(out), "hunter2secret") {
				t.Errorf("output shows the password:\n%s", out)
			}
		})
	}
}

func asExit(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*ee = e
	return ok
}

// An invite link joins with the room and password in it.
func TestJoinWithInviteLink(t *testing.T) {
	b := embeddedBackend(t)
	ds := b.daemons(t, "Asha", "Bilal")
	inv := create(t, ds[0], "--password", "a password with spaces & #")
	if !strings.HasPrefix(inv.Link, "sunoye://join/"+inv.Room+"#") {
		t.Fatalf("create --json link = %q", inv.Link)
	}
	must(t, ds[1], "join", "Join me: "+inv.Link+" (see you)")
	if _, ok := findRoom(roomsJSON(t, ds[1]), inv.Room); !ok {
		t.Error("not joined after joining with the invite link")
	}
	// From standard input, as 'Copy invite' copies it, the password out
	// of the process list. (Leaving asks nothing once Asha is seen
	// present: the room stays open.)
	waitPresent(t, 20*time.Second, inv.Room, 2, ds[1])
	must(t, ds[1], "leave", inv.Room)
	if r := ds[1].RunStdin(t, inv.Text+"\n", "join", "-"); r.Code != 0 {
		t.Errorf("join - with the invite text on standard input: exit %d: %s", r.Code, r.Stderr)
	}
	wantExit(t, ds[1], "no invite here\n", exitUsage, []string{"invite"}, "join", "-")
}

// Wrong passwords in a row pause a room's attempts: refused at once with
// their own exit code, never a success (not even for the right password
// during the pause), and the right password works once the pause is over.
func TestRepeatedWrongPasswords(t *testing.T) {
	b := embeddedBackend(t)
	ds := b.daemons(t, "Asha", "Mallory")
	mallory := ds[1]
	inv := create(t, ds[0])
	for i := range 5 {
		wantExit(t, mallory, fmt.Sprintf("guess-%d-password\n", i), exitWrongPass, []string{"wrong password"}, "join", inv.Room)
	}
	wantExit(t, mallory, inv.Password+"\n", exitTooMany, []string{"try again in"}, "join", inv.Room)

	// Guessing on: every answer is a refusal, and few guesses get as far
	// as a key derivation.
	codes := map[int]int{}
	for start := time.Now(); time.Since(start) < 3*time.Second; {
		codes[mallory.RunStdin(t, "another-guess\n", "join", inv.Room).Code]++
	}
	for code := range codes {
		if code != exitWrongPass && code != exitTooMany {
			t.Errorf("answers while guessing: %v, want only exit %d and %d", codes, exitWrongPass, exitTooMany)
		}
	}
	if codes[exitWrongPass] > 3 {
		t.Errorf("%d of %d guesses were tried during 3 s of pauses, want at most 3", codes[exitWrongPass], codes[exitWrongPass]+codes[exitTooMany])
	}
	t.Logf("answers while guessing for 3 s: %v", codes)

	eventually(t, 90*time.Second, func() error {
		if r := mallory.RunStdin(t, inv.Password+"\n", "join", inv.Room); r.Code != 0 {
			return fmt.Errorf("right password: exit %d: %s", r.Code, r.Stderr)
		}
		return nil
	})
}
