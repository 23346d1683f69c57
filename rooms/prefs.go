package rooms

import (
	"context"
	"fmt"
)

// MarkRead sets a room's unread count to zero.
func (s *Service) MarkRead(id ID) error {
	r := s.room(id)
	if r == nil {
		return fmt.Errorf("room %s: %w", id, ErrNotJoined)
	}
	if r.markRead() {
		s.hub.emit(Event{Kind: EventRead, Room: id})
		s.withdraw(id)
	}
	return nil
}

// withdraw takes room id's notification off the screen, in the background.
func (s *Service) withdraw(id ID) {
	s.mu.Lock()
	w, ok := s.notifier.(Withdrawer)
	s.mu.Unlock()
	if !ok {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
		defer cancel()
		if err := w.Withdraw(ctx, id); err != nil {
			s.log.Debug("withdraw notification", "room", id, "err", err)
		}
	}()
}

// SetMuted mutes or unmutes a room's notifications: its notification
// level none, or all.
func (s *Service) SetMuted(id ID, muted bool) error {
	if muted {
		return s.SetNotify(id, NotifyNone)
	}
	return s.SetNotify(id, NotifyAll)
}

// SetNotify sets which of a room's messages notify (see NotifyLevel). It
// is remembered across restarts.
func (s *Service) SetNotify(id ID, level NotifyLevel) error {
	if _, err := ParseNotifyLevel(string(level)); err != nil {
		return err
	}
	r := s.room(id)
	if r == nil {
		return fmt.Errorf("room %s: %w", id, ErrNotJoined)
	}
	r.setNotify(level)
	s.save()
	s.hub.emit(Event{Kind: EventRead, Room: id})
	return nil
}

// SetDoNotDisturb turns all notifications off or on again.
func (s *Service) SetDoNotDisturb(on bool) {
	s.mu.Lock()
	s.dnd = on
	s.mu.Unlock()
	s.hub.emit(Event{Kind: EventRead})
}

// DoNotDisturb reports whether notifications are off.
func (s *Service) DoNotDisturb() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dnd
}

// SetFocused records that a chat window of room id gained (true) or lost
// (false) the focus: messages to a room the user is looking at are not
// notified, and count as read.
func (s *Service) SetFocused(id ID, focused bool) {
	s.mu.Lock()
	if focused {
		s.focused[id]++
	} else if s.focused[id] > 0 {
		s.focused[id]--
	}
	s.mu.Unlock()
	if focused {
		_ = s.MarkRead(id)
	}
}

// SetName changes the display name and announces it in every room.
func (s *Service) SetName(name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	s.mu.Lock()
	s.name = name
	rs := make([]*room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rs = append(rs, r)
	}
	s.mu.Unlock()
	for _, r := range rs {
		r.renamed(s.me, name)
		go s.announce(r, false)
	}
	return nil
}

func (s *Service) focusedOn(id ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.focused[id] > 0
}
