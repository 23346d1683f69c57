package rooms

import (
	"context"
	"time"
)

// notifyTimeout bounds one Notify call, whatever the notifier does.
const notifyTimeout = 5 * time.Second

// queueNotification hands an incoming message to the notifier loop unless
// the user asked for quiet or is looking at the room. It never blocks the
// delivery path: when notifications back up, the newest are dropped — the
// notifier coalesces a room's burst into one anyway.
func (s *Service) queueNotification(m Message) {
	s.mu.Lock()
	skip := s.notifier == nil || s.dnd || s.focused[m.Room] > 0
	s.mu.Unlock()
	if skip {
		return
	}
	select {
	case s.notes <- Notification{Room: m.Room, Sender: m.Name, Text: m.Text, Message: m}:
	default:
		s.log.Debug("notification dropped: notifier behind", "room", m.Room)
	}
}

// notifyLoop delivers queued notifications one at a time.
func (s *Service) notifyLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case n := <-s.notes:
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
