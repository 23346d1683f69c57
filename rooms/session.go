package rooms

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// publishTimeout bounds presence announcements, which run in the
// background.
const publishTimeout = 10 * time.Second

// attachOptions are what a room starts with.
type attachOptions struct {
	password  string // known in this run (create, join); never saved
	muted     bool
	seenUntil int64 // SavedRoom.SeenUntil
}

// replayWindow is how far before seenUntil a message is still taken as
// new: a sender's clock may be a little behind ours.
const replayWindow = 5 * time.Minute

// attach opens the room's broker session, announces this member, and adds
// the room to the joined ones.
func (s *Service) attach(ctx context.Context, id ID, gen int64, key Key, opt attachOptions) error {
	r := newRoom(id, gen, key, s.cfg.HistoryLimit)
	r.password = opt.password
	r.muted = opt.muted
	r.seenUntil = opt.seenUntil
	r.members[s.me] = s.Name()
	sess, err := s.tr.Open(ctx, SessionConfig{
		ClientID: s.clientID(key),
		Filters:  []string{r.topics.filter},
		// An empty retained payload deletes the member's retained presence:
		// if this daemon dies, the broker tells the others at once.
		Will:    &Packet{Topic: r.topics.presenceOf(s.me), Retained: true},
		Deliver: func(p Packet) { s.deliver(r, p) },
		OnConnect: func() {
			// After a reconnect the Will may have cleared our presence; the
			// first connection is announced below, once Open returns.
			if r.session() != nil {
				go s.announce(r)
			}
			s.hub.emit(Event{Kind: EventConnection, Room: id})
		},
		OnDisconnect: func(err error) {
			// mqttx logs the loss; here only what it means for the room.
			s.log.Debug("broker connection lost; reconnecting", "room", id, "err", err)
			// Presence from before the loss may be stale by the time we
			// are back (a member crashed meanwhile, and a broker without
			// persistence forgot their Will): keep only ourselves, and let
			// the retained presences that come with the resubscription
			// fill the list again.
			r.mu.Lock()
			others := len(r.members) > 1
			for m := range r.members {
				if m != s.me {
					delete(r.members, m)
				}
			}
			clear(r.tags)
			r.mu.Unlock()
			if others {
				s.hub.emit(Event{Kind: EventMembers, Room: id})
			}
			s.hub.emit(Event{Kind: EventConnection, Room: id})
		},
	})
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.sess = sess
	r.mu.Unlock()
	s.mu.Lock()
	if s.stopped {
		// Shutdown ran while the session opened: nobody would close it.
		s.mu.Unlock()
		sess.Close(context.WithoutCancel(ctx), false)
		return errors.New("the daemon is shutting down")
	}
	s.mu.Unlock()
	s.announce(r)

	s.mu.Lock()
	s.rooms[id] = r
	delete(s.pending, id) // joined again by hand, or retried
	s.mu.Unlock()
	s.save()
	s.hub.emit(Event{Kind: EventJoined, Room: id})
	return nil
}

// announce publishes this member's retained presence in r. It never runs
// after detach has begun: an announcement landing after detach's clear
// would leave a retained ghost on the broker, with no Will to remove it.
func (s *Service) announce(r *room) {
	r.announceMu.Lock()
	defer r.announceMu.Unlock()
	if r.leaving {
		return
	}
	sess := r.session()
	if sess == nil {
		return
	}
	payload, err := seal(r.aead, r.topics.presenceOf(s.me), s.cfg.Identity, body{
		Type: typePresence, Name: s.Name(), TS: time.Now().UnixMilli(), State: "online",
	})
	if err != nil {
		s.log.Error("seal presence", "room", r.id, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
	defer cancel()
	if err := sess.Publish(ctx, Packet{Topic: r.topics.presenceOf(s.me), Payload: payload, Retained: true}); err != nil {
		s.log.Warn("announce presence", "room", r.id, "err", err)
	}
}

// detach clears this member's presence and closes the room's session.
// With forget, the broker-side session is discarded too (leaving); without,
// the broker keeps queueing for the next start (shutting down).
func (s *Service) detach(ctx context.Context, r *room, forget bool) {
	// Wait for an announcement under way, and stop any later one.
	r.announceMu.Lock()
	r.leaving = true
	r.announceMu.Unlock()
	sess := r.session()
	if sess == nil {
		return
	}
	// While the connection is down there is nobody to tell: the broker
	// already published our Will when it lost us.
	if sess.Connected() {
		pctx, cancel := context.WithTimeout(ctx, publishTimeout)
		err := sess.Publish(pctx, Packet{Topic: r.topics.presenceOf(s.me), Retained: true})
		cancel()
		if err != nil {
			s.log.Warn("clear presence", "room", r.id, "err", err)
		}
	}
	if err := sess.Close(ctx, forget); err != nil {
		s.log.Warn("close broker session", "room", r.id, "err", err)
	}
}

// deliver handles one packet from the room's session. Nothing from the
// network can make it fail: what does not open is counted and dropped.
func (s *Service) deliver(r *room, p Packet) {
	var err error
	switch {
	case p.Topic == r.topics.messages:
		err = s.onMessage(r, p.Payload)
	default:
		tag, ok := r.topics.tagOfPresence(p.Topic)
		if !ok {
			err = fmt.Errorf("unexpected topic %q", p.Topic)
			break
		}
		err = s.onPresence(r, tag, p.Payload)
	}
	if err != nil {
		r.mu.Lock()
		r.rejected++
		n := r.rejected
		r.mu.Unlock()
		// Debug only: anyone can publish garbage on a public broker, and
		// the log must not become the attack.
		s.log.Debug("payload rejected", "room", r.id, "topic", p.Topic, "bytes", len(p.Payload), "rejected", n, "err", err)
		if p.Topic == r.topics.presenceOf(s.me) {
			// Someone else's payload on our presence topic may have
			// replaced our retained presence on the broker (we cannot
			// tell: brokers clear the retain flag of live deliveries), and
			// members who join then would not see us. Put ours back.
			s.reannounce(r)
		}
	}
}

// reannounce announces this member's presence in r again, in the
// background, when the broker no longer holds it: our presence topic was
// cleared (a late Will of ours, or anyone publishing an empty payload
// there) or overwritten. Requests coalesce: however many such packets
// arrive, one announcement runs at a time, and one more after it if any
// came meanwhile — a flood of them costs neither a goroutine each nor
// more publishes than the broker acknowledges.
func (s *Service) reannounce(r *room) {
	if s.room(r.id) != r {
		return // not (or no longer) joined: nothing to announce
	}
	r.announceWanted.Store(true)
	if !r.announcing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		for {
			for r.announceWanted.Swap(false) && s.room(r.id) == r {
				s.announce(r)
			}
			r.announcing.Store(false)
			// A request that came after the last Swap and before the Store
			// found announcing set and left it to us.
			if !r.announceWanted.Load() || !r.announcing.CompareAndSwap(false, true) {
				return
			}
		}
	}()
}

func (s *Service) onMessage(r *room, payload []byte) error {
	sender, b, err := open(r.aead, r.topics.messages, payload)
	if err != nil {
		return err
	}
	if b.Type != typeMessage {
		return fmt.Errorf("%w: %s body on the message topic", errPayloadBody, b.Type)
	}
	if r.seenUntil > 0 && b.TS < r.seenUntil-replayWindow.Milliseconds() {
		// Older than the last clean stop: shown by an earlier run, and now
		// published again by someone who recorded it (a message missed
		// while the daemon was down is newer than that).
		return nil
	}
	m := Message{
		ID: b.ID, Room: r.id, Sender: sender, Name: b.Name, Text: b.Text,
		Time: time.UnixMilli(b.TS), Own: sender == s.me,
	}
	// A message to a room the user is looking at is read as it arrives.
	focused := s.focusedOn(r.id)
	r.mu.Lock()
	if !r.seen.add(m.ID) {
		r.mu.Unlock()
		return nil // a redelivery or our own echo: already shown
	}
	r.hist.add(m)
	if !m.Own && !focused {
		r.unread++
	}
	muted := r.muted
	r.mu.Unlock()

	s.hub.emit(Event{Kind: EventMessage, Room: r.id, Message: &m})
	if !m.Own && !muted {
		s.queueNotification(m)
	}
	return nil
}

func (s *Service) onPresence(r *room, tag string, payload []byte) error {
	if len(payload) == 0 {
		if tag == r.topics.memberTag(s.me) {
			// Our presence was cleared while we are still here: the Will
			// of an earlier connection of ours, delivered late, or anyone
			// on the broker publishing an empty payload there. Say again
			// that we are here.
			s.reannounce(r)
			return nil
		}
		r.mu.Lock()
		m, was := r.tags[tag]
		delete(r.tags, tag)
		delete(r.members, m)
		r.mu.Unlock()
		if was {
			s.hub.emit(Event{Kind: EventMembers, Room: r.id})
		}
		return nil
	}
	topic := r.topics.presence + tag
	sender, b, err := open(r.aead, topic, payload)
	if err != nil {
		return err
	}
	if b.Type != typePresence {
		return fmt.Errorf("%w: %s body on a presence topic", errPayloadBody, b.Type)
	}
	if r.topics.memberTag(sender) != tag {
		return errors.New("presence signed by another member")
	}
	r.mu.Lock()
	old, was := r.members[sender]
	r.members[sender] = b.Name
	r.tags[tag] = sender
	r.mu.Unlock()
	if !was || old != b.Name {
		s.hub.emit(Event{Kind: EventMembers, Room: r.id})
	}
	return nil
}
