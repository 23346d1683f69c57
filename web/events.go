package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/sunoye/sunoye/rooms"
)

// Event stream tuning.
const (
	// eventBuffer is how far a stream may fall behind the Service before
	// it is cut off and told to resync: a burst of a few hundred messages
	// fits, a stalled client does not hold events without bound.
	eventBuffer = 512
	// heartbeatEvery keeps idle streams alive through anything that closes
	// quiet connections, and lets the server notice a vanished client. It
	// only runs while a window is open.
	heartbeatEvery = 25 * time.Second
	// retryMillis tells EventSource how soon to reconnect.
	retryMillis = 2000
)

// events serves GET /v1/events on the unix socket: the Service's events as
// server-sent events, for scripts (curl -N --unix-socket …).
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	s.streamEvents(w, r, nil, nil)
}

// streamEvents writes the Service's events to w as server-sent events, one
// EventJSON per event, until the client goes away or the request's context
// ends. onEvent, if set, sees each event before it is written. alive, if
// set, is asked before each event and heartbeat is written; the stream
// ends when it says no (the chat UI's session expired).
//
// A stream that falls behind is not closed: it is subscribed afresh and
// sent an EventResync, so the client re-reads its state and keeps its
// connection (and, in the chat UI, its focus).
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request, onEvent func(rooms.Event), alive func() bool) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeJSON(w, http.StatusInternalServerError, ErrorJSON{Error: "streaming unsupported", Code: CodeInternal})
		return
	}
	events, cancel := s.svc.Subscribe(eventBuffer)
	defer func() { cancel() }()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	// The retry hint and a first comment go out at once, so that the
	// client's open event fires now and not with the first real event.
	if _, err := w.Write([]byte("retry: " + strconv.Itoa(retryMillis) + "\n: ok\n\n")); err != nil {
		return
	}
	flusher.Flush()

	beat := time.NewTicker(heartbeatEvery)
	defer beat.Stop()
	for {
		var out EventJSON
		select {
		case <-r.Context().Done():
			return
		case <-beat.C:
			if alive != nil && !alive() {
				return
			}
			if _, err := w.Write([]byte(": ping\n\n")); err != nil {
				return
			}
			flusher.Flush()
			continue
		case e, ok := <-events:
			if alive != nil && !alive() {
				return
			}
			if ok {
				if onEvent != nil {
					onEvent(e)
				}
				out = NewEventJSON(e)
			} else {
				// Cut off for falling behind: events were lost.
				events, cancel = s.svc.Subscribe(eventBuffer)
				out = EventJSON{Kind: EventResync}
			}
		}
		if err := writeEvent(w, out); err != nil {
			return
		}
		flusher.Flush()
	}
}

// writeEvent writes one server-sent event. JSON never contains a raw
// newline, so the object fits one data line whatever the message says.
func writeEvent(w http.ResponseWriter, e EventJSON) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, len(b)+8)
	buf = append(buf, "data: "...)
	buf = append(buf, b...)
	buf = append(buf, "\n\n"...)
	_, err = w.Write(buf)
	return err
}
