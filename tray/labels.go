package tray

import (
	"fmt"
	"strings"

	"github.com/sunoye/sunoye/rooms"
)

// appName is the icon's title, and the start of every tooltip.
const appName = "SunOye"

// maxTooltipRooms bounds the rooms a tooltip names; the rest are counted.
const maxTooltipRooms = 3

// entryTitle is a room's line in the menu: "482913057 — 3 members, 2
// unread". Presence lists this daemon too, so a room we are in never
// shows fewer than one member. A room that the registry gave away or lost
// says so: it goes on over the broker, but nobody new can join it.
func entryTitle(r rooms.RoomInfo) string {
	var b strings.Builder
	b.WriteString(string(r.ID))
	b.WriteString(" — ")
	b.WriteString(plural(max(len(r.Members), 1), "member", "members"))
	if r.Unread > 0 {
		fmt.Fprintf(&b, ", %d unread", r.Unread)
	}
	switch {
	case r.Muted:
		b.WriteString(", muted")
	case r.Notify == rooms.NotifyMentions:
		b.WriteString(", mentions only")
	}
	switch r.Registry {
	case rooms.RegistryReused:
		b.WriteString(" (its number now names another room)")
	case rooms.RegistryLost:
		b.WriteString(" (lost by the registry)")
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// status is what the icon and its tooltip show.
type status struct {
	// unread counts the unread messages of rooms that are not muted: a
	// muted room's messages are in its menu entry, but do not call for
	// attention.
	unread      int
	unreadRooms []rooms.ID
	// disconnected is true while any joined room has lost the broker:
	// they all share one, so one is enough to say so.
	disconnected bool
}

func summarize(rs []rooms.RoomInfo) status {
	var st status
	for _, r := range rs {
		if !r.Connected {
			st.disconnected = true
		}
		if r.Unread > 0 && !r.Muted {
			st.unread += r.Unread
			st.unreadRooms = append(st.unreadRooms, r.ID)
		}
	}
	return st
}

// tooltip is the icon's tooltip: "SunOye", "SunOye — 2 unread in
// 482913057", "SunOye — disconnected from the broker".
func (st status) tooltip() string {
	var parts []string
	if st.disconnected {
		parts = append(parts, "disconnected from the broker")
	}
	if st.unread > 0 {
		names := make([]string, 0, maxTooltipRooms)
		for i, id := range st.unreadRooms {
			if i == maxTooltipRooms {
				break
			}
			names = append(names, string(id))
		}
		where := strings.Join(names, ", ")
		if extra := len(st.unreadRooms) - len(names); extra > 0 {
			where += fmt.Sprintf(" and %d more", extra)
		}
		parts = append(parts, fmt.Sprintf("%d unread in %s", st.unread, where))
	}
	if len(parts) == 0 {
		return appName
	}
	return appName + " — " + strings.Join(parts, "; ")
}
