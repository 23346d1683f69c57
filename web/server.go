package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"

	"github.com/sunoye/sunoye/rooms"
)

// maxRequestBytes bounds request bodies: a message is at most 4 KiB, and
// JSON escaping can at most sextuple it.
const maxRequestBytes = 64 << 10

// Info is static information about the daemon shown by /v1/status.
type Info struct {
	Version  string
	Broker   string // redacted
	Registry string // redacted
}

// Server is the local API.
type Server struct {
	svc      *rooms.Service
	info     Info
	log      *slog.Logger
	mux      *http.ServeMux
	opener   opener    // POST /v1/open; see SetOpener
	launcher launcher  // POST /v1/launch; see SetLauncher
	estimate Estimator // POST /v1/rooms with a chosen password; see SetEstimator

	// follows counts the message streams open (see messages); followsEnded
	// is closed when it falls to zero (see FollowsEnded).
	followsMu    sync.Mutex
	follows      int
	followsEnded chan struct{}
}

// Estimator estimates how hard a chosen password is to guess.
type Estimator func(ctx context.Context, password string) (rooms.Strength, error)

// SetEstimator sets how chosen room passwords are estimated. Without one,
// a chosen password is refused unless the caller insists on it: it cannot
// be told strong.
func (s *Server) SetEstimator(e Estimator) { s.estimate = e }

// NewServer returns the API handler for svc.
func NewServer(svc *rooms.Service, info Info, log *slog.Logger) *Server {
	s := &Server{svc: svc, info: info, log: log, mux: http.NewServeMux()}
	s.routes()
	return s
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /v1/status", s.status)
	s.mux.HandleFunc("GET /v1/rooms", s.listRooms)
	s.mux.HandleFunc("POST /v1/rooms", s.create)
	s.mux.HandleFunc("GET /v1/rooms/{room}", s.getRoom)
	s.mux.HandleFunc("DELETE /v1/rooms/{room}", s.leave)
	s.mux.HandleFunc("POST /v1/rooms/{room}/join", s.join)
	s.mux.HandleFunc("GET /v1/rooms/{room}/messages", s.messages)
	s.mux.HandleFunc("POST /v1/rooms/{room}/messages", s.send)
	s.mux.HandleFunc("POST /v1/rooms/{room}/files", s.sendFile)
	s.mux.HandleFunc("GET /v1/rooms/{room}/files/{msg}", s.file)
	s.mux.HandleFunc("POST /v1/rooms/{room}/read", s.markRead)
	s.mux.HandleFunc("POST /v1/rooms/{room}/mute", s.mute)
	s.mux.HandleFunc("POST /v1/rooms/{room}/notify", s.setNotify)
	s.mux.HandleFunc("POST /v1/rooms/{room}/typing", s.typing)
	s.mux.HandleFunc("GET /v1/rooms/{room}/invite", s.invite)
	s.mux.HandleFunc("POST /v1/dnd", s.dnd)
	s.mux.HandleFunc("GET /v1/events", s.events)
	s.mux.HandleFunc("POST /v1/open", s.open)
	s.mux.HandleFunc("POST /v1/launch", s.launch)
}

// FollowsEnded returns a channel closed once no message stream (`sunoye
// tail`, GET /v1/rooms/ROOM/messages?follow=1) is open. Once the Service's
// showing has ended (rooms.Service.ShowingEnded), each stream writes what
// it still holds and ends: a daemon that waits for this before it exits
// lets its followers see every message it showed.
func (s *Server) FollowsEnded() <-chan struct{} {
	s.followsMu.Lock()
	defer s.followsMu.Unlock()
	if s.followsEnded == nil {
		s.followsEnded = make(chan struct{})
		if s.follows == 0 {
			close(s.followsEnded)
		}
	}
	return s.followsEnded
}

// followBegins and followEnds count a message stream.
func (s *Server) followBegins() {
	s.followsMu.Lock()
	defer s.followsMu.Unlock()
	if s.follows == 0 && s.followsEnded != nil {
		select {
		case <-s.followsEnded:
			s.followsEnded = nil // a new wait, for this one
		default:
		}
	}
	s.follows++
}

func (s *Server) followEnds() {
	s.followsMu.Lock()
	defer s.followsMu.Unlock()
	s.follows--
	if s.follows == 0 && s.followsEnded != nil {
		close(s.followsEnded)
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// ServeLocal serves the API where only the current user can reach it,
// until ctx ends: a unix socket at path (mode 0600), or on Windows a named
// pipe whose security descriptor admits only the current user, with its
// name written to path (see listenLocal). A stale file at path is replaced
// (the caller holds the state directory's lock, so no other daemon uses
// it). NewClient(path) reaches it.
func (s *Server) ServeLocal(ctx context.Context, path string) error {
	ln, err := listenLocal(path)
	if err != nil {
		return err
	}
	_, err = serveUntil(ctx, newHTTPServer(s), ln)
	os.Remove(path)
	return err
}

// ServeUnix serves the API on a unix socket at path until ctx ends; see
// ListenUnix.
func (s *Server) ServeUnix(ctx context.Context, path string) error {
	ln, err := ListenUnix(path)
	if err != nil {
		return err
	}
	_, err = serveUntil(ctx, newHTTPServer(s), ln)
	os.Remove(path)
	return err
}

// ListenUnix listens on a unix socket at path that only the current user
// can connect to.
func ListenUnix(path string) (net.Listener, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("restrict %s: %w", path, err)
	}
	return sameUser(ln), nil
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, StatusJSON{
		Version: s.info.Version, Member: string(s.svc.Me()), Name: s.svc.Name(),
		Broker: s.info.Broker, Registry: s.info.Registry, Rooms: len(s.svc.Rooms()),
		DoNotDisturb: s.svc.DoNotDisturb(), PID: os.Getpid(),
	})
}

func (s *Server) listRooms(w http.ResponseWriter, r *http.Request) {
	out := []RoomJSON{}
	for _, in := range s.svc.Rooms() {
		out = append(out, NewRoomJSON(in, false))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var req CreateRequest
	if !s.decode(w, r, &req) {
		return
	}
	// Chosen passwords are estimated here, at the one door of the CLI and
	// the chat UI alike; a short one is refused as short first.
	if req.Password != "" && !req.WeakPassword {
		if err := rooms.CheckPassword(req.Password); err == nil {
			if err := s.checkStrength(r.Context(), req.Password); err != nil {
				s.fail(w, err)
				return
			}
		}
	}
	inv, err := s.svc.Create(r.Context(), req.Password)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, NewInviteJSON(inv))
}

// checkStrength refuses a chosen password estimated too easy to guess, or
// one that cannot be estimated.
func (s *Server) checkStrength(ctx context.Context, password string) error {
	if s.estimate == nil {
		return fmt.Errorf("%w: its strength cannot be estimated here (no estimator)", rooms.ErrGuessable)
	}
	st, err := s.estimate(ctx, password)
	if err != nil {
		s.log.Warn("estimate password strength", "err", err)
		return fmt.Errorf("%w: its strength could not be estimated: %v", rooms.ErrGuessable, err)
	}
	return st.Check()
}

func (s *Server) join(w http.ResponseWriter, r *http.Request) {
	id, ok := s.roomID(w, r)
	var req JoinRequest
	if !ok || !s.decode(w, r, &req) {
		return
	}
	if err := s.svc.Join(r.Context(), id, req.Password); err != nil {
		s.fail(w, err)
		return
	}
	s.writeRoom(w, id)
}

func (s *Server) getRoom(w http.ResponseWriter, r *http.Request) {
	if id, ok := s.roomID(w, r); ok {
		s.writeRoom(w, id)
	}
}

func (s *Server) writeRoom(w http.ResponseWriter, id rooms.ID) {
	in, err := s.svc.Room(id)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, NewRoomJSON(in, true))
}

func (s *Server) leave(w http.ResponseWriter, r *http.Request) {
	id, ok := s.roomID(w, r)
	if !ok {
		return
	}
	if err := s.svc.Leave(r.Context(), id); err != nil {
		s.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	id, ok := s.roomID(w, r)
	var req SendRequest
	if !ok || !s.decode(w, r, &req) {
		return
	}
	m, err := s.svc.Send(r.Context(), id, req.Text)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, NewMessageJSON(m))
}

func (s *Server) markRead(w http.ResponseWriter, r *http.Request) {
	id, ok := s.roomID(w, r)
	if !ok {
		return
	}
	if err := s.svc.MarkRead(id); err != nil {
		s.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) mute(w http.ResponseWriter, r *http.Request) {
	id, ok := s.roomID(w, r)
	var req ToggleRequest
	if !ok || !s.decode(w, r, &req) {
		return
	}
	if err := s.svc.SetMuted(id, req.On); err != nil {
		s.fail(w, err)
		return
	}
	s.writeRoom(w, id)
}

func (s *Server) setNotify(w http.ResponseWriter, r *http.Request) {
	id, ok := s.roomID(w, r)
	var req NotifyRequest
	if !ok || !s.decode(w, r, &req) {
		return
	}
	level, err := rooms.ParseNotifyLevel(req.Level)
	if err == nil {
		err = s.svc.SetNotify(id, level)
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	s.writeRoom(w, id)
}

// typing serves POST /v1/rooms/{room}/typing: tell the room's members
// that this member is typing (rate-limited by rooms.Service.Typing).
func (s *Server) typing(w http.ResponseWriter, r *http.Request) {
	id, ok := s.roomID(w, r)
	if !ok {
		return
	}
	if err := s.svc.Typing(r.Context(), id); err != nil {
		s.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) invite(w http.ResponseWriter, r *http.Request) {
	id, ok := s.roomID(w, r)
	if !ok {
		return
	}
	inv, err := s.svc.InviteFor(id)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, NewInviteJSON(inv))
}

func (s *Server) dnd(w http.ResponseWriter, r *http.Request) {
	var req ToggleRequest
	if !s.decode(w, r, &req) {
		return
	}
	s.svc.SetDoNotDisturb(req.On)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) roomID(w http.ResponseWriter, r *http.Request) (rooms.ID, bool) {
	id, err := rooms.ParseID(r.PathValue("room"))
	if err != nil {
		s.fail(w, err)
		return "", false
	}
	return id, true
}

// decode reads a JSON request body of at most maxRequestBytes into v.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := DecodeRequest(http.MaxBytesReader(w, r.Body, maxRequestBytes), v); err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorJSON{Error: err.Error(), Code: CodeBadRequest})
		return false
	}
	return true
}

// DecodeRequest reads one JSON value into v; an empty body leaves v as it
// is. Anything after the value is an error.
func DecodeRequest(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return fmt.Errorf("bad request body: %w", err)
	}
	if dec.More() {
		return errors.New("bad request body: more than one JSON value")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("bad request body: trailing data")
	}
	return nil
}

// fail answers with the error, its code and status.
func (s *Server) fail(w http.ResponseWriter, err error) {
	status, code := classify(err)
	if status == http.StatusInternalServerError {
		s.log.Error("request failed", "err", err)
	}
	writeJSON(w, status, ErrorJSON{Error: err.Error(), Code: code})
}

func classify(err error) (int, string) {
	switch {
	case errors.Is(err, rooms.ErrNoSuchRoom):
		return http.StatusNotFound, CodeNoSuchRoom
	case errors.Is(err, rooms.ErrRoomInactive):
		return http.StatusGone, CodeRoomInactive
	case errors.Is(err, rooms.ErrWrongPassword):
		return http.StatusForbidden, CodeWrongPass
	case errors.Is(err, rooms.ErrTooManyAttempts):
		return http.StatusTooManyRequests, CodeTooManyAttempts
	case errors.Is(err, rooms.ErrNotJoined):
		return http.StatusNotFound, CodeNotJoined
	case errors.Is(err, rooms.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, CodeTooLarge
	case errors.Is(err, rooms.ErrNoFile), errors.Is(err, rooms.ErrFileGone):
		return http.StatusNotFound, CodeNoFile
	case errors.Is(err, rooms.ErrGuessable):
		return http.StatusBadRequest, CodeWeakPassword
	case errors.Is(err, rooms.ErrBadRoomNumber), errors.Is(err, rooms.ErrTooLong),
		errors.Is(err, rooms.ErrEmpty), errors.Is(err, rooms.ErrWeakPassword), errors.Is(err, rooms.ErrInvalid):
		return http.StatusBadRequest, CodeBadRequest
	case errors.Is(err, rooms.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, CodeUnavailable
	}
	return http.StatusInternalServerError, CodeInternal
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
