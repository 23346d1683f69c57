package tray

import (
	"testing"

	"github.com/sunoye/sunoye/rooms"
)

// A room's menu entry says when the registry gave its number away or lost
// it: the conversation goes on, but nobody new can join it by number.
func TestEntryTitleRegistry(t *testing.T) {
	me := rooms.Member{ID: "me", Self: true}
	for _, tt := range []struct {
		registry, want string
	}{
		{rooms.RegistryOK, "482913057 — 1 member"},
		{rooms.RegistryUnreachable, "482913057 — 1 member"},
		{rooms.RegistryReused, "482913057 — 1 member (its number now names another room)"},
		{rooms.RegistryLost, "482913057 — 1 member (lost by the registry)"},
	} {
		got := entryTitle(rooms.RoomInfo{ID: "482913057", Members: []rooms.Member{me}, Registry: tt.registry})
		if got != tt.want {
			t.Errorf("registry %q: %q, want %q", tt.registry, got, tt.want)
		}
	}
}
