package rooms

import "sync"

// EventKind says what changed.
type EventKind string

// Event kinds.
const (
	EventMessage    EventKind = "message"    // a message arrived or was sent; Message is set
	EventMembers    EventKind = "members"    // the member list or count changed
	EventJoined     EventKind = "joined"     // this daemon joined the room
	EventLeft       EventKind = "left"       // this daemon left the room
	EventClosed     EventKind = "closed"     // the room ended without us leaving it (reused, removed)
	EventConnection EventKind = "connection" // the room's broker connection went up or down
	EventRead       EventKind = "read"       // unread count, notification level or do-not-disturb changed
	EventTyping     EventKind = "typing"     // a member is typing; Member is set
)

// Event tells subscribers that something changed; they read the details
// from the Service.
type Event struct {
	Kind    EventKind
	Room    ID
	Message *Message
	// Member is who is typing, for EventTyping: the member id and the
	// name its presence gave.
	Member *Member
}

// hub fans events out to subscribers. A subscriber that falls behind by
// more than its buffer is cut off (its channel closed) rather than slowing
// the daemon or silently missing messages: it can subscribe again and
// re-read the history.
type hub struct {
	mu   sync.Mutex
	subs map[chan Event]struct{}
}

func (h *hub) subscribe(buf int) (<-chan Event, func()) {
	ch := make(chan Event, buf)
	h.mu.Lock()
	if h.subs == nil {
		h.subs = make(map[chan Event]struct{})
	}
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[ch]; ok {
			delete(h.subs, ch)
			close(ch)
		}
	}
}

// emit hands e to every subscriber, and reports whether it did to any.
func (h *hub) emit(e Event) (sent bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- e:
			sent = true
		default:
			delete(h.subs, ch)
			close(ch)
		}
	}
	return sent
}
