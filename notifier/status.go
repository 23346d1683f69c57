package notifier

import (
	"log/slog"
	"sync"
)

// condition is whether notifications work, and if not, why.
type condition int

const (
	condUnknown  condition = iota // nothing tried yet
	condOn                        // the last attempt reached a server
	condNoBus                     // no session bus
	condNoServer                  // nobody owns org.freedesktop.Notifications
	condNoAnswer                  // the server does not answer in time
	condFailing                   // the platform's notification call fails
)

// offMessages are the log lines for each way of being off. They say what
// the user can do about it, and that nothing else is affected.
var offMessages = map[condition]string{
	condNoBus:    "desktop notifications are off: no D-Bus session bus; chat works, and notifications resume when a bus is reachable",
	condNoServer: "desktop notifications are off: no notification server on the session bus (nobody owns org.freedesktop.Notifications; start one, e.g. dunst); retrying with each message",
	condNoAnswer: "desktop notifications are off: the notification server does not answer; retrying with each message",
	condFailing:  "desktop notifications are off: showing a notification failed; retrying with each message",
}

// status logs when notifications stop or start working: one line per
// change, not one per message, so that a desktop without a notification
// server does not fill the log.
type status struct {
	log *slog.Logger
	mu  sync.Mutex
	cur condition
}

// on records that a notification reached the server.
func (s *status) on(attrs ...any) {
	s.mu.Lock()
	prev := s.cur
	s.cur = condOn
	s.mu.Unlock()
	switch prev {
	case condOn:
	case condUnknown:
		s.log.Info("desktop notifications on", attrs...)
	default:
		s.log.Info("desktop notifications are on again", attrs...)
	}
}

// off records that notifications do not work, for reason c.
func (s *status) off(c condition, attrs ...any) {
	s.mu.Lock()
	prev := s.cur
	s.cur = c
	s.mu.Unlock()
	if prev != c {
		s.log.Warn(offMessages[c], attrs...)
	}
}
