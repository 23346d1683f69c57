package rooms

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Typing signals say "this member is typing" to a room's other members.
// They travel as messages do, encrypted with the room key and signed by
// the sender, bound to a topic of their own (topics.typing), but they are
// no messages: they have no id and no place in the sender's sequence,
// are never kept in the history nor notified, and leave no mark. A
// receiver handles one and acknowledges it at once; a stale one (its
// time more than TypingStale away from the receiver's clock: queued by
// the broker while the receiver was away, or replayed) is dropped, and so
// is one from a member who is not present. A hostile member cannot flood
// with them: a sender publishes at most one per TypingEvery per room, and
// a receiver takes at most one per TypingGap per member.
const (
	// TypingEvery is the least time between two typing signals this
	// member publishes in a room.
	TypingEvery = 3 * time.Second
	// TypingGap is the least time between two typing signals taken from
	// one member: a little under TypingEvery, for the network's jitter.
	TypingGap = 2 * time.Second
	// TypingStale is how far a typing signal's time may be from ours.
	TypingStale = 10 * time.Second
	// typingTimeout bounds the publish of one typing signal.
	typingTimeout = 5 * time.Second
	// maxTypers bounds the members shown typing at once in a room (taken
	// within 3 × TypingGap): a member who floods the member list with
	// identities cannot turn each into a typing event every TypingGap.
	maxTypers = 16
)

// errRetainedTyping: typing signals are never retained.
var errRetainedTyping = errors.New("retained payload on the typing topic")

// Typing tells room id's other members that this member is typing. Calls
// more often than TypingEvery publish nothing, and neither does a call
// while the broker is out of reach (a signal sent later would be stale):
// both return nil. It never shows anything here.
func (s *Service) Typing(ctx context.Context, id ID) error {
	r := s.room(id)
	if r == nil {
		return fmt.Errorf("room %s: %w", id, ErrNotJoined)
	}
	now := time.Now()
	sess := r.typingDue(now)
	if sess == nil || !sess.Connected() {
		return nil
	}
	payload, err := seal(r.aead, r.topics.typing, s.cfg.Identity, body{Type: typeTyping, Name: s.Name(), TS: now.UnixMilli()})
	if err != nil {
		return fmt.Errorf("typing in room %s: %w", id, err)
	}
	ctx, cancel := context.WithTimeout(ctx, typingTimeout)
	defer cancel()
	if err := sess.Publish(ctx, Packet{Topic: r.topics.typing, Payload: payload}); err != nil {
		return fmt.Errorf("typing in room %s: %w", id, err)
	}
	return nil
}

// onTyping handles a payload of the typing topic: a signal that opens,
// is fresh, and comes from a present member at most once per TypingGap
// becomes an EventTyping. Only what does not open or breaks a rule is an
// error (counted as rejected); a stale, early or unknown sender's signal
// is dropped quietly.
func (s *Service) onTyping(r *room, p Packet) error {
	if p.Retained {
		return errRetainedTyping
	}
	sender, b, err := open(r.aead, r.topics.typing, p.Payload)
	if err != nil {
		return err
	}
	if b.Type != typeTyping {
		return fmt.Errorf("%w: %s body on the typing topic", errPayloadBody, b.Type)
	}
	if sender == s.me {
		return nil // our own, echoed
	}
	now := time.Now()
	if d := now.Sub(time.UnixMilli(b.TS)); d > TypingStale || d < -TypingStale {
		return nil
	}
	name, ok := r.typingFrom(sender, now)
	if !ok {
		return nil
	}
	s.hub.emit(Event{Kind: EventTyping, Room: r.id, Member: &Member{ID: sender, Name: name}})
	return nil
}

// typingDue returns the room's session if a typing signal may go out now,
// and records that one does; nil if the last went out less than
// TypingEvery ago.
func (r *room) typingDue(now time.Time) Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sess == nil || now.Sub(r.typingSent) < TypingEvery {
		return nil
	}
	r.typingSent = now
	return r.sess
}

// typingFrom takes a typing signal of sender: it reports the name the
// sender's presence gave, and false if the sender is not present or its
// last signal was taken less than TypingGap ago, or maxTypers others
// are typing.
func (r *room) typingFrom(sender MemberID, now time.Time) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	name, present := r.members[sender]
	if !present {
		return "", false
	}
	last, ok := r.typingTaken[sender]
	if ok && now.Sub(last) < TypingGap {
		return "", false
	}
	if !ok || now.Sub(last) >= 3*TypingGap {
		typing := 0
		for _, at := range r.typingTaken {
			if now.Sub(at) < 3*TypingGap {
				typing++
			}
		}
		if typing >= maxTypers {
			return "", false
		}
	}
	if r.typingTaken == nil || len(r.typingTaken) > len(r.members)+maxMarks {
		// Entries of members gone; present members are bounded by presence.
		r.typingTaken = make(map[MemberID]time.Time)
	}
	r.typingTaken[sender] = now
	return name, true
}
