package web

import (
	"net/http"

	"github.com/sunoye/sunoye/rooms"
)

// events serves GET /v1/events?client=ID to a chat window: the event
// stream of Server.streamEvents, tied to the client's focus and to its
// session: an open stream keeps the session in use, and ends when the
// session expires. While the
// stream is open the client may hold focus on rooms (setFocus); messages
// to a room it holds focus on count as read at once (rooms.Service); when its last stream
// closes (the window closed or crashed), its focus is given back.
func (u *UI) events(w http.ResponseWriter, r *http.Request) {
	client := r.URL.Query().Get("client")
	if !validClientID(client) {
		writeJSON(w, http.StatusBadRequest, ErrorJSON{Error: "events: client must be 8 to 64 letters, digits, - or _", Code: CodeBadRequest})
		return
	}
	u.focus.attach(client)
	defer u.focus.detach(client)
	// Messages to a room the user is looking at are read as they arrive:
	// rooms.Service counts no unread while a room is focused.
	token := bearer(r)
	if !u.auth.hold(token) {
		return // expired since ServeHTTP looked
	}
	defer u.auth.release(token)
	u.api.streamEvents(w, r, func(e rooms.Event) {
		switch e.Kind {
		case rooms.EventLeft, rooms.EventClosed:
			// A later join of the same number starts unfocused.
			_ = u.focus.set(client, e.Room, false)
		}
	}, func() bool { return u.auth.use(token) })
}

// validClientID accepts the random ids pages make for themselves, and
// nothing that could bloat memory or logs.
func validClientID(s string) bool {
	if len(s) < 8 || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}
