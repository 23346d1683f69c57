package web

import (
	"errors"
	"sync"

	"github.com/sunoye/sunoye/rooms"
)

// errNoStream is the answer to a focus report from a client whose event
// stream is not open: focus is only taken while the stream that will
// give it back is alive.
var errNoStream = errors.New("open the event stream (GET /v1/events?client=…) before reporting focus")

// focusTracker keeps the Service's focus counts balanced for the chat
// windows. Service.SetFocused counts; a window that reported focus and
// then crashed would silence its room's notifications for good. So focus
// is held per client (one page of a window), only while that client's
// event stream is open, and all of it is given back when the last of the
// client's streams closes.
type focusTracker struct {
	svc *rooms.Service

	mu      sync.Mutex
	clients map[string]*focusClient
}

type focusClient struct {
	streams int               // open event streams of the client (a reconnect briefly overlaps the old one)
	rooms   map[rooms.ID]bool // rooms the client holds focus on
}

func newFocusTracker(svc *rooms.Service) *focusTracker {
	return &focusTracker{svc: svc, clients: make(map[string]*focusClient)}
}

// attach records that an event stream of client opened.
func (f *focusTracker) attach(client string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.clients[client]
	if c == nil {
		c = &focusClient{rooms: make(map[rooms.ID]bool)}
		f.clients[client] = c
	}
	c.streams++
}

// detach records that an event stream of client closed; with the last
// one, the client's focus is given back.
func (f *focusTracker) detach(client string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.clients[client]
	if c == nil {
		return
	}
	if c.streams--; c.streams > 0 {
		return
	}
	for id := range c.rooms {
		f.svc.SetFocused(id, false)
	}
	delete(f.clients, client)
}

// set records that client has (on) or no longer has the focus on room id.
// Reporting the same state twice changes nothing.
func (f *focusTracker) set(client string, id rooms.ID, on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.clients[client]
	if c == nil {
		if !on {
			return nil // nothing held, nothing to give back
		}
		return errNoStream
	}
	switch {
	case on && !c.rooms[id]:
		c.rooms[id] = true
		f.svc.SetFocused(id, true)
	case !on && c.rooms[id]:
		delete(c.rooms, id)
		f.svc.SetFocused(id, false)
	}
	return nil
}
