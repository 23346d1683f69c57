package rooms

import (
	"context"
	"sync"
	"time"
)

// notifyTimeout bounds one Notify call, whatever the notifier does.
const notifyTimeout = 5 * time.Second

// queueNotification hands an incoming message to the notifier loop unless
// the user asked for quiet or is looking at the room. It never blocks the
// delivery path: when a room's notifications back up, its newest are
// dropped — the notifier coalesces a room's burst into one anyway. Each
// room has a queue of its own, served in turn, so that a room flooded
// with messages cannot crowd out another room's notifications.
func (s *Service) queueNotification(m Message) {
	s.mu.Lock()
	skip := s.notifier == nil || s.dnd || s.focused[m.Room] > 0
	s.mu.Unlock()
	if skip {
		return
	}
	if !s.notes.put(Notification{Room: m.Room, Sender: Label(m.Name, m.Sender), Text: noteText(m), Message: m, Mention: m.Mention}) {
		s.log.Debug("notification dropped: notifier behind", "room", m.Room)
	}
}

// notifyLoop delivers queued notifications one at a time.
func (s *Service) notifyLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.notes.ready:
		}
		for ctx.Err() == nil {
			n, ok := s.notes.take()
			if !ok {
				break
			}
			s.mu.Lock()
			nf, skip := s.notifier, s.dnd || s.focused[n.Room] > 0
			s.mu.Unlock()
			if nf == nil || skip {
				continue
			}
			cctx, cancel := context.WithTimeout(ctx, notifyTimeout)
			if err := nf.Notify(cctx, n); err != nil {
				s.log.Debug("notify", "room", n.Room, "err", err)
			}
			cancel()
		}
	}
}

// notesPerRoom bounds the notifications waiting for one room.
const notesPerRoom = 64

// noteQueue holds the notifications waiting to be shown: a bounded queue
// per room, and the rooms that have one in round-robin order.
type noteQueue struct {
	mu      sync.Mutex
	pending map[ID][]Notification
	order   []ID          // rooms with notifications waiting, next first
	ready   chan struct{} // has a token while something may be waiting
}

func newNoteQueue() *noteQueue {
	return &noteQueue{pending: make(map[ID][]Notification), ready: make(chan struct{}, 1)}
}

// put queues n behind its room's others; it reports false, dropping n, if
// the room has notesPerRoom waiting already.
func (q *noteQueue) put(n Notification) bool {
	q.mu.Lock()
	waiting := q.pending[n.Room]
	if len(waiting) >= notesPerRoom {
		q.mu.Unlock()
		return false
	}
	if len(waiting) == 0 {
		q.order = append(q.order, n.Room)
	}
	q.pending[n.Room] = append(waiting, n)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return true
}

// take returns the oldest notification of the next room in turn.
func (q *noteQueue) take() (Notification, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.order) == 0 {
		return Notification{}, false
	}
	id := q.order[0]
	q.order = q.order[1:]
	waiting := q.pending[id]
	n := waiting[0]
	if len(waiting) == 1 {
		delete(q.pending, id)
	} else {
		q.pending[id] = waiting[1:]
		q.order = append(q.order, id) // its next one after the other rooms'
	}
	return n, true
}
