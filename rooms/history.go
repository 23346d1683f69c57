package rooms

// history is a room's recent messages, in arrival order, bounded: a chat
// that runs for days must not grow the daemon without bound. It lives in
// memory only.
type history struct {
	buf   []Message
	start int // index of the oldest message once buf is full
	limit int
}

func newHistory(limit int) *history { return &history{limit: limit} }

func (h *history) add(m Message) {
	if len(h.buf) < h.limit {
		h.buf = append(h.buf, m)
		return
	}
	h.buf[h.start] = m
	h.start = (h.start + 1) % h.limit
}

// find returns the message id, if kept.
func (h *history) find(id string) (Message, bool) {
	for _, m := range h.buf {
		if m.ID == id {
			return m, true
		}
	}
	return Message{}, false
}

// list returns a copy, oldest first.
func (h *history) list() []Message {
	out := make([]Message, 0, len(h.buf))
	out = append(out, h.buf[h.start:]...)
	return append(out, h.buf[:h.start]...)
}

// seenSet remembers the ids of recent messages so that a QoS 1
// redelivery, a message echoed back to its sender, or a replayed payload is
// shown at most once. It forgets the oldest ids first; its bound is well
// above the history's, so anything still on screen is remembered.
type seenSet struct {
	ids   map[string]struct{}
	order []string
	next  int
	limit int
}

// newSeenSet returns an empty set. It grows as messages come rather than
// reserving its bound at once: a quiet room costs next to nothing.
func newSeenSet(limit int) *seenSet {
	return &seenSet{ids: make(map[string]struct{}), limit: limit}
}

// add records id and reports whether it was new.
func (s *seenSet) add(id string) bool {
	if _, dup := s.ids[id]; dup {
		return false
	}
	if len(s.order) < s.limit {
		s.order = append(s.order, id)
	} else {
		delete(s.ids, s.order[s.next])
		s.order[s.next] = id
		s.next = (s.next + 1) % len(s.order)
	}
	s.ids[id] = struct{}{}
	return true
}

// has reports whether id is in the set.
func (s *seenSet) has(id string) bool {
	_, ok := s.ids[id]
	return ok
}

// forget removes id, so that a later copy is accepted.
func (s *seenSet) forget(id string) { delete(s.ids, id) }
