package web

import (
	"fmt"
	"strings"

	"github.com/sunoye/sunoye/rooms"
)

// ViewKind names one view of the chat UI.
type ViewKind string

// The chat UI's views.
const (
	ViewHome     ViewKind = ""         // the joined rooms
	ViewRoom     ViewKind = "room"     // one room: history, members, text box
	ViewQuick    ViewKind = "quick"    // compact quick reply, as a notification click opens it
	ViewCreate   ViewKind = "create"   // the create-room form
	ViewJoin     ViewKind = "join"     // the join-room form (Room, if set, fills in the number)
	ViewSettings ViewKind = "settings" // display name, broker, database
	// ViewLeave is the room view asking at once whether to leave: the
	// tray's Leave opens it for a room that leaving would close.
	ViewLeave ViewKind = "leave"
)

// View is what a chat window shows: a kind and, for the room views, the
// room. Its String form ("room/482913057", "create", "" for home) is what
// ParseView reads, for command lines such as `sunoye window VIEW`.
type View struct {
	Kind ViewKind
	Room rooms.ID
}

// LeaveView returns the view that asks whether to leave room id.
func LeaveView(id rooms.ID) View { return View{Kind: ViewLeave, Room: id} }

// RoomView returns the view of room id.
func RoomView(id rooms.ID) View { return View{Kind: ViewRoom, Room: id} }

// QuickView returns the quick-reply view of room id.
func QuickView(id rooms.ID) View { return View{Kind: ViewQuick, Room: id} }

// String returns the view as ParseView reads it.
func (v View) String() string {
	if v.Room != "" {
		return string(v.Kind) + "/" + string(v.Room)
	}
	return string(v.Kind)
}

// ParseView reads a view as String writes it; a leading "#/" or "/" is
// allowed, so a URL's fragment reads too.
func ParseView(s string) (View, error) {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "#"), "/")
	kind, room, hasRoom := strings.Cut(s, "/")
	v := View{Kind: ViewKind(kind)}
	switch v.Kind {
	case ViewRoom, ViewQuick, ViewLeave:
		id, err := rooms.ParseID(room)
		if err != nil {
			return View{}, fmt.Errorf("view %q: %w", s, err)
		}
		v.Room = id
	case ViewJoin:
		if hasRoom {
			id, err := rooms.ParseID(room)
			if err != nil {
				return View{}, fmt.Errorf("view %q: %w", s, err)
			}
			v.Room = id
		}
	case ViewHome, ViewCreate, ViewSettings:
		if hasRoom {
			return View{}, fmt.Errorf("view %q: %q takes no room", s, kind)
		}
	default:
		return View{}, fmt.Errorf("view %q: use room/ROOM, quick/ROOM, leave/ROOM, create, join[/ROOM] or settings", s)
	}
	return v, nil
}
