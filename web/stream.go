package web

import (
	"encoding/json"
	"net/http"

	"github.com/sunoye/sunoye/rooms"
)

// messages answers a room's history, oldest first. With ?follow=1 it then
// streams new messages as they arrive, one JSON object a line
// (application/x-ndjson), until the client goes away or the room is left.
// With ?read=1 the room counts as read while the client follows it: as
// with a focused chat window, its messages are neither counted unread nor
// notified (marking each one read after it arrived would pop a
// notification and take it back).
func (s *Server) messages(w http.ResponseWriter, r *http.Request) {
	id, ok := s.roomID(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	follow, read := q.Get("follow") == "1", q.Get("read") == "1"
	if !follow {
		hist, err := s.svc.History(id)
		if err != nil {
			s.fail(w, err)
			return
		}
		out := make([]MessageJSON, 0, len(hist))
		for _, m := range hist {
			out = append(out, NewMessageJSON(m))
		}
		if read {
			_ = s.svc.MarkRead(id)
		}
		writeJSON(w, http.StatusOK, out)
		return
	}

	s.followBegins()
	defer s.followEnds()
	// Subscribe before reading the history, so nothing falls between the
	// two; the ids already written filter the overlap.
	events, cancel := s.svc.Subscribe(1024)
	defer cancel()
	hist, err := s.svc.History(id)
	if err != nil {
		s.fail(w, err)
		return
	}
	if read {
		s.svc.SetFocused(id, true) // also marks what is there read
		defer s.svc.SetFocused(id, false)
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	written := make(map[string]struct{}, len(hist))
	for _, m := range hist {
		written[m.ID] = struct{}{}
		if enc.Encode(NewMessageJSON(m)) != nil {
			return
		}
	}
	if flusher != nil {
		flusher.Flush()
	}
	// write writes e if it is a message of the room not written yet, and
	// reports whether the stream goes on.
	write := func(e rooms.Event) bool {
		if e.Room != id {
			return true
		}
		switch e.Kind {
		case rooms.EventLeft, rooms.EventClosed:
			return false
		case rooms.EventMessage:
			if _, dup := written[e.Message.ID]; dup {
				return true
			}
			if enc.Encode(NewMessageJSON(*e.Message)) != nil {
				return false
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		return true
	}
	ended := s.svc.ShowingEnded()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-ended:
			// The daemon is stopping and shows nothing more: what it
			// showed is in events; write it out and end, so that the
			// client has seen every message the stop showed (and whose
			// mark it saved) before the process goes.
			for {
				select {
				case e, ok := <-events:
					if !ok || !write(e) {
						return
					}
				default:
					return
				}
			}
		case e, ok := <-events:
			if !ok {
				return // fell behind: the client re-reads the history
			}
			if !write(e) {
				return
			}
		}
	}
}
