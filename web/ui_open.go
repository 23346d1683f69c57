package web

import (
	"context"
	"errors"
	"net/http"
	"sync"
)

// ErrNoWindow is what a window opener returns when it cannot show windows
// at all (a headless daemon, no display).
var ErrNoWindow = errors.New("this daemon cannot open chat windows (headless, or no display)")

// opener holds the function behind POST /v1/open.
type opener struct {
	mu   sync.Mutex
	open func(context.Context, View) error
}

// SetOpener sets the function that opens a chat window for POST /v1/open
// (`sunoye open`); nil, the default, answers that this daemon opens no
// windows. open should return an error wrapping ErrNoWindow when there is
// no display. Its ctx is the request's and ends with the answer: a window
// it starts must outlive it.
func (s *Server) SetOpener(open func(ctx context.Context, v View) error) {
	s.opener.mu.Lock()
	s.opener.open = open
	s.opener.mu.Unlock()
}

// view decodes the OpenRequest of POST /v1/open and /v1/launch. A room
// view needs the room joined: a window for a room we are not in would only
// say so. It answers the request itself when it returns false.
func (s *Server) view(w http.ResponseWriter, r *http.Request) (View, bool) {
	var req OpenRequest
	if !s.decode(w, r, &req) {
		return View{}, false
	}
	v, err := ParseView(req.View)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorJSON{Error: err.Error(), Code: CodeBadRequest})
		return View{}, false
	}
	if v.Kind == ViewRoom || v.Kind == ViewQuick || v.Kind == ViewLeave {
		if _, err := s.svc.Room(v.Room); err != nil {
			s.fail(w, err)
			return View{}, false
		}
	}
	return v, true
}

// open serves POST /v1/open: show a chat window for a view.
func (s *Server) open(w http.ResponseWriter, r *http.Request) {
	v, ok := s.view(w, r)
	if !ok {
		return
	}
	var err error
	s.opener.mu.Lock()
	open := s.opener.open
	s.opener.mu.Unlock()
	if open == nil {
		err = ErrNoWindow
	} else {
		err = open(r.Context(), v)
	}
	if errors.Is(err, ErrNoWindow) {
		writeJSON(w, http.StatusServiceUnavailable, ErrorJSON{Error: ErrNoWindow.Error(), Code: CodeNoWindow})
		return
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
