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
		status := http.StatusInternalServerError
		if errors.Is(err, errNoStream) {
			status = http.StatusConflict
		}
		writeJSON(w, status, ErrorJSON{Error: err.Error(), Code: CodeBadRequest})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
