package notifier

import "github.com/sunoye/sunoye/rooms"

// shown remembers, per room, the notification on screen and how many
// messages it stands for, so that a burst replaces one notification
// instead of stacking ten, and maps the server's notification ids back to
// rooms when the user acts on one. It is not safe for concurrent use.
//
// Replies and signals from the server arrive in order on the connection,
// but are handled on different goroutines: a NotificationClosed that the
// server sent after its reply to a Notify may be handled before that
// reply. So every reply and signal carries its position on the connection
// (seq). While a Notify call is in flight, signals are held back; when the
// reply comes they are applied in their order around it, so that they
// concern the right version of the notification and the daemon hears of
// clicks in the order they were made.
type shown struct {
	byRoom map[rooms.ID]*onScreen
	byID   map[uint32]rooms.ID

	inflight bool
	held     []signal
}

type onScreen struct {
	id    uint32 // the server's notification id
	count int    // messages since the user last saw or dismissed it
	since uint64 // position of the reply that (re)placed it
}

// signalKind is what the user or the server did to a notification.
type signalKind int

const (
	sigClicked signalKind = iota // ActionInvoked "default"
	sigReplied                   // NotificationReplied
	sigClosed                    // NotificationClosed
)

// signal is one signal from the notification server about notification id.
type signal struct {
	kind signalKind
	id   uint32
	seq  uint64   // position on the connection
	text string   // the reply
	room rooms.ID // set once the signal is found to be about one of ours
}

// next returns the id to replace with the room's next notification (0:
// none) and how many messages that notification stands for.
func (s *shown) next(room rooms.ID) (replaces uint32, count int) {
	if e := s.byRoom[room]; e != nil {
		return e.id, e.count + 1
	}
	return 0, 1
}

// begin notes that a Notify call is about to be sent.
func (s *shown) begin() {
	s.inflight, s.held = true, nil
}

// abort notes that the Notify call failed, and returns the clicks and
// replies among the signals held back meanwhile.
func (s *shown) abort() []signal {
	held := s.held
	s.inflight, s.held = false, nil
	var acts []signal
	for _, sig := range held {
		acts = s.applyAct(acts, sig)
	}
	return acts
}

// end records that the server shows the room's notification under id,
// standing for count messages, as its reply at position seq said. It
// applies the signals held back meanwhile, those sent before the reply
// first, and returns the clicks and replies among them.
func (s *shown) end(room rooms.ID, id uint32, count int, seq uint64) []signal {
	held := s.held
	s.inflight, s.held = false, nil
	var acts []signal
	i := 0
	for ; i < len(held) && held[i].seq < seq; i++ {
		acts = s.applyAct(acts, held[i])
	}
	if s.byRoom == nil {
		s.byRoom = make(map[rooms.ID]*onScreen)
		s.byID = make(map[uint32]rooms.ID)
	}
	if e := s.byRoom[room]; e != nil && e.id != id {
		// The server gave a new id: the old notification was gone.
		delete(s.byID, e.id)
	}
	s.byRoom[room] = &onScreen{id: id, count: count, since: seq}
	s.byID[id] = room
	for ; i < len(held); i++ {
		acts = s.applyAct(acts, held[i])
	}
	return acts
}

// handle takes a signal as it comes, and returns the clicks and replies
// to pass on now: none while a Notify call is in flight.
func (s *shown) handle(sig signal) []signal {
	if s.inflight {
		s.held = append(s.held, sig)
		return nil
	}
	return s.applyAct(nil, sig)
}

// applyAct applies sig and, if it is a click on or reply to one of our
// notifications, appends it with its room to acts.
func (s *shown) applyAct(acts []signal, sig signal) []signal {
	room, ok := s.apply(sig)
	if ok && sig.kind != sigClosed {
		sig.room = room
		acts = append(acts, sig)
	}
	return acts
}

// apply updates the state for sig and returns the room of its
// notification, if it is ours.
func (s *shown) apply(sig signal) (rooms.ID, bool) {
	room, ok := s.byID[sig.id]
	if !ok {
		return "", false
	}
	e := s.byRoom[room]
	if sig.seq < e.since {
		// Sent before the reply that replaced the notification, handled
		// after it: about the earlier version (the server kept the id). A
		// click on it still means the room, but it neither resets the
		// count nor closes the new version.
		return room, sig.kind != sigClosed
	}
	switch sig.kind {
	case sigClosed:
		delete(s.byID, sig.id)
		delete(s.byRoom, room)
	case sigClicked, sigReplied:
		e.count = 0
	}
	return room, true
}

// forget drops the room's notification, which the caller closed.
func (s *shown) forget(room rooms.ID) {
	if e := s.byRoom[room]; e != nil {
		delete(s.byID, e.id)
		delete(s.byRoom, room)
	}
}

// reset forgets everything: the server that showed the notifications is
// gone, and its ids mean nothing to the next one.
func (s *shown) reset() {
	s.byRoom, s.byID, s.held = nil, nil, nil
}
