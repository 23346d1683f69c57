package web

import (
	"errors"
	"net/http"
)

// setFocus serves POST /v1/rooms/{room}/focus: a window reports that it
// shows the room and has the focus, or no longer does. See focusTracker.
func (u *UI) setFocus(w http.ResponseWriter, r *http.Request) {
	id, ok := u.api.roomID(w, r)
	var req FocusRequest
	if !ok || !u.api.decode(w, r, &req) {
		return
	}
	if !validClientID(req.Client) {
		writeJSON(w, http.StatusBadRequest, ErrorJSON{Error: "focus: client must be 8 to 64 letters, digits, - or _", Code: CodeBadRequest})
		return
	}
	if req.On {
		// Focus on a room we are not in would be counted against a room
		// that may be joined later.
		if _, err := u.svc.Room(id); err != nil {
			u.api.fail(w, err)
			return
		}
	}
	if err := u.focus.set(req.Client, id, req.On); err != nil {
		u.focusFailed(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// focusFailed answers a focus report that focusTracker refused: a client
// without an open event stream is told to open one (409, bad_request);
// anything else is the daemon's fault (500, internal, logged).
func (u *UI) focusFailed(w http.ResponseWriter, err error) {
	if errors.Is(err, errNoStream) {
		writeJSON(w, http.StatusConflict, ErrorJSON{Error: err.Error(), Code: CodeBadRequest})
		return
	}
	u.api.fail(w, err)
}
