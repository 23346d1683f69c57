package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// `sunoye notify ROOM all|mentions|none` sets a room's notification level,
// which `rooms` and `rooms --json` show, mute and unmute set too, and a
// restart keeps; anything else is a usage error (exit 2) that says what
// to type.
func TestNotifyLevelCommand(t *testing.T) {
	b := embeddedBackend(t)
	ds := b.daemons(t, "Asha", "Bilal")
	asha, bilal := ds[0], ds[1]
	inv := create(t, asha)
	level := func(want string) {
		t.Helper()
		r, ok := findRoom(roomsJSON(t, asha), inv.Room)
		if !ok || r.Notify != want || r.Muted != (want == "none") {
			t.Fatalf("rooms --json shows notify %q muted %v, want %q", r.Notify, r.Muted, want)
		}
	}
	level("all")
	if out := must(t, asha, "notify", inv.Room, "mentions"); !strings.Contains(out, "mentions only") {
		t.Errorf("notify mentions printed %q", out)
	}
	level("mentions")
	if out := must(t, asha, "rooms"); !strings.Contains(out, "mentions only") {
		t.Errorf("rooms does not show the level:\n%s", out)
	}
	must(t, asha, "mute", inv.Room)
	level("none")
	must(t, asha, "unmute", inv.Room)
	level("all")
	must(t, asha, "notify", inv.Room, "none")
	level("none")

	wantExit(t, asha, "", exitUsage, []string{"use all, mentions or none"}, "notify", inv.Room, "loud")
	wantExit(t, asha, "", exitUsage, []string{"accepts 2 arg"}, "notify", inv.Room)
	wantExit(t, asha, "", exitUsage, []string{"room number"}, "notify", "12345", "all")
	level("none")

	// tail --json and the history say which messages mention Asha.
	must(t, bilal, "join", inv.Room, "--password", inv.Password)
	waitPresent(t, 20*time.Second, inv.Room, 2, asha, bilal)
	must(t, bilal, "send", inv.Room, "@asha look")
	must(t, bilal, "send", inv.Room, "nothing for you")
	waitHistory(t, asha, inv.Room, "Bilal: @asha look", "Bilal: nothing for you")
	var mentions []bool
	for _, m := range history(t, asha, inv.Room) {
		mentions = append(mentions, m.Mention)
	}
	if fmt.Sprint(mentions) != "[true false]" {
		t.Errorf("mention flags %v, want [true false]", mentions)
	}

	// Kept across a restart; and "mentions" too.
	must(t, asha, "notify", inv.Room, "mentions")
	asha.Stop(t)
	asha.Start(t)
	level("mentions")
}
