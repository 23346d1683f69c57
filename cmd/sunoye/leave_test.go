package main

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// Leaving the last seat: the room would close, so leave asks. Without a
// terminal (a script) it refuses with exit 2 and leaves nothing, unless
// --yes; with another member present it leaves without asking.
func TestLeaveLastSeat(t *testing.T) {
	b := embeddedBackend(t)
	ds := b.daemons(t, "Asha", "Bilal")
	asha, bilal := ds[0], ds[1]
	inv := create(t, asha)
	if r, _ := findRoom(roomsJSON(t, asha), inv.Room); !r.LastMember {
		t.Errorf("rooms --json of a room alone: last_member false: %+v", r)
	}
	must(t, bilal, "join", inv.Room, "--password", inv.Password)
	waitPresent(t, 20*time.Second, inv.Room, 2, asha, bilal)
	if r, _ := findRoom(roomsJSON(t, bilal), inv.Room); r.LastMember {
		t.Errorf("rooms --json of a room with another member: last_member true: %+v", r)
	}
	if out := must(t, bilal, "leave", inv.Room); out != "left room "+inv.Room+"\n" {
		t.Errorf("leave with another member present printed %q", out)
	}
	waitPresent(t, 20*time.Second, inv.Room, 1, asha)

	r := wantExit(t, asha, "y\n", exitUsage, []string{"room " + inv.Room + " not left", "would close it", "--yes"}, "leave", inv.Room)
	if r.Stdout != "" {
		t.Errorf("a refused leave printed %q", r.Stdout)
	}
	if _, ok := findRoom(roomsJSON(t, asha), inv.Room); !ok {
		t.Fatal("leave without --yes left the last seat")
	}
	must(t, asha, "leave", inv.Room, "--yes")
	if rs := roomsJSON(t, asha); len(rs) != 0 {
		t.Errorf("still in %+v after leave --yes", rs)
	}
	// Closed: nobody joins it again.
	wantExit(t, bilal, "", exitRoomInactive, []string{"inactive"}, "join", inv.Room, "--password", inv.Password)
}

// On a terminal, leave asks y/N for the last seat: y or yes leaves,
// anything else (Enter, n, end of input) keeps the room with exit 1.
func TestAskLastSeat(t *testing.T) {
	for _, c := range []struct {
		answer string
		leave  bool
	}{
		{"y\n", true}, {"YES\n", true}, {" yes \r\n", true}, {"y", true},
		{"\n", false}, {"n\n", false}, {"no\n", false}, {"", false}, {"yep\n", false},
	} {
		var out strings.Builder
		err := askLastSeat(strings.NewReader(c.answer), &out, true, "482913057")
		if !strings.Contains(out.String(), "482913057") || !strings.HasSuffix(out.String(), "[y/N] ") {
			t.Errorf("answer %q: asked %q", c.answer, out.String())
		}
		switch {
		case c.leave && err != nil:
			t.Errorf("answer %q: %v, want to leave", c.answer, err)
		case !c.leave && (err == nil || exitCode(err) != exitError || !strings.Contains(err.Error(), "not left")):
			t.Errorf("answer %q: %v (exit %d), want not left, exit %d", c.answer, err, exitCode(err), exitError)
		}
	}
	err := askLastSeat(strings.NewReader("y\n"), nil, false, "482913057")
	var ue usageError
	if !errors.As(err, &ue) || exitCode(err) != exitUsage || !strings.Contains(err.Error(), "--yes") {
		t.Errorf("without a terminal: %v, want a usage error naming --yes", err)
	}
}
