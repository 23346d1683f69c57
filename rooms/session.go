package rooms

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"time"
)

// publishTimeout bounds presence announcements, which run in the
// background.
const publishTimeout = 10 * time.Second

// closeReserve is the part of detach's time kept for closing the session
// (writing DISCONNECT) after clearing the presence.
const closeReserve = 100 * time.Millisecond

// attachOptions are what a room starts with.
type attachOptions struct {
	rec      Record // the registry's record, if known
	password string // known in this run (create, join); never saved
	muted    bool
	joinedAt int64             // SavedRoom.JoinedAt; now if zero
	marks    map[MemberID]Mark // SavedRoom.Marks
}

// attach opens the room's broker session, announces this member, and adds
// the room to the joined ones.
func (s *Service) attach(ctx context.Context, id ID, gen int64, key Key, opt attachOptions) error {
	now := time.Now()
	r := newRoom(id, gen, key, s.cfg.HistoryLimit)
	r.rec = opt.rec
	r.password = opt.password
	r.muted = opt.muted
	r.joinedAt = cmp.Or(opt.joinedAt, now.UnixMilli())
	r.marks = marksFrom(opt.marks)
	if opt.marks != nil {
		r.savedMarks = maps.Clone(opt.marks)
	}
	r.attached, r.holdUntil = now, now.Add(holdWindow)
	r.members[s.me] = s.Name()
	sess, err := s.tr.Open(ctx, SessionConfig{
		ClientID: s.clientID(key),
		Filters:  []string{r.topics.filter},
		// An empty retained payload deletes the member's retained presence:
		// if this daemon dies, the broker tells the others at once.
		Will:    &Packet{Topic: r.topics.presenceOf(s.me), Retained: true},
		Deliver: func(p Packet, handled func()) { s.deliver(r, p, handled) },
		OnConnect: func() {
			// After a reconnect the Will may have cleared our presence, and
			// the member list was emptied (below): announce, and ask the
			// others to. The first connection is announced once Open
			// returns.
			if r.session() != nil {
				go s.announce(r, true)
			}
			s.hub.emit(Event{Kind: EventConnection, Room: id})
		},
		OnDisconnect: func(err error) {
			// mqttx logs the loss; here only what it means for the room.
			s.log.Debug("broker connection lost; reconnecting", "room", id, "err", err)
			// Presence from before the loss may be stale by the time we
			// are back (a member crashed meanwhile, and a broker without
			// persistence forgot their Will): keep only ourselves, and let
			// the presences that come after the reconnection fill the
			// list again.
			r.mu.Lock()
			others := r.expire(s.me, time.Now(), -1)
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
	s.announce(r, true)
	// Messages held back for their sender's presence are decided when
	// the hold ends, whether or not it came.
	time.AfterFunc(holdWindow, func() { s.releaseHeld(r, "") })

	s.mu.Lock()
	s.rooms[id] = r
	delete(s.pending, id) // joined again by hand, or retried
	s.mu.Unlock()
	s.save()
	s.hub.emit(Event{Kind: EventJoined, Room: id})
	return nil
}

// announceInterval is the least time between two announcements of ours in
// a room: members asking for them cannot make us publish faster.
const announceInterval = time.Second

// announce publishes this member's retained presence in r; with ask, it
// asks the others to announce themselves too. It never runs after detach
// has begun: an announcement landing after detach's clear would leave a
// retained ghost on the broker, with no Will to remove it.
func (s *Service) announce(r *room, ask bool) {
	r.announceMu.Lock()
	defer r.announceMu.Unlock()
	if r.leaving {
		return
	}
	sess := r.session()
	if sess == nil {
		return
	}
	r.mu.Lock()
	seq := r.seq
	r.mu.Unlock()
	payload, err := seal(r.aead, r.topics.presenceOf(s.me), s.cfg.Identity, body{
		Type: typePresence, Name: s.Name(), TS: time.Now().UnixMilli(), State: "online",
		Run: s.cfg.Run, Seq: seq, Ask: ask,
	})
	if err != nil {
		s.log.Error("seal presence", "room", r.id, "err", err)
		return
	}
	r.lastAnnounce = time.Now()
	ctx, cancel := context.WithTimeout(r.announceCtx, publishTimeout)
	defer cancel()
	if err := sess.Publish(ctx, Packet{Topic: r.topics.presenceOf(s.me), Payload: payload, Retained: true}); err != nil {
		if r.announceCtx.Err() != nil {
			// detach gave up on it; its clear follows on the same
			// connection, or the Will stands for it.
			s.log.Debug("announce presence: given up, leaving", "room", r.id, "err", err)
			return
		}
		s.log.Warn("announce presence", "room", r.id, "err", err)
	}
}

// detach clears this member's presence and closes the room's session.
// With forget, the broker-side session is discarded too (leaving); without,
// the broker keeps queueing for the next start (shutting down).
func (s *Service) detach(ctx context.Context, r *room, forget bool) {
	// End an announcement under way (it may be waiting for a broker that
	// does not answer), and stop any later one. Published on the same
	// connection as the clear below, it cannot overtake it.
	r.stopAnnounce()
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
		// The acknowledgement is waited for within ctx, less the time
		// Close needs to say DISCONNECT: a broker that has not answered
		// by then still reads the clear before the DISCONNECT, in order,
		// or, if it never reads either, publishes the Will, which clears
		// the presence all the same.
		pctx, cancel := context.WithTimeout(ctx, publishTimeout)
		if dl, ok := ctx.Deadline(); ok {
			cancel()
			pctx, cancel = context.WithDeadline(ctx, dl.Add(-closeReserve))
		}
		err := sess.Publish(pctx, Packet{Topic: r.topics.presenceOf(s.me), Retained: true})
		cancel()
		if err != nil {
			s.log.Warn("clear presence: not acknowledged in time; the broker has it before our DISCONNECT, or publishes our Will", "room", r.id, "err", err)
		}
	}
	if err := sess.Close(ctx, forget); err != nil {
		s.log.Warn("close broker session", "room", r.id, "err", err)
	}
}

// errRetained: a message topic never carries retained messages; a
// retained one is someone's attempt to have a payload shown to every
// member who joins later.
var errRetained = errors.New("retained payload on the message topic")

// deliver handles one packet from the room's session, and calls handled
// once it is: a message once its mark is saved and it is shown (or found
// not new), anything else at once. Nothing from the network can make it
// fail: what does not open is counted and dropped.
func (s *Service) deliver(r *room, p Packet, handled func()) {
	var err error
	switch {
	case p.Topic == r.topics.messages && p.Retained:
		err = errRetained
	case p.Topic == r.topics.messages:
		var sender MemberID
		var b body
		if sender, b, err = s.openMessage(r, p.Payload); err == nil {
			s.show(r, sender, b, handled)
			return
		}
	default:
		tag, ok := r.topics.tagOfPresence(p.Topic)
		if !ok {
			err = fmt.Errorf("unexpected topic %q", p.Topic)
			break
		}
		err = s.onPresence(r, tag, p)
	}
	handled()
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
// background: our presence topic was cleared (a late Will of ours, or
// anyone publishing an empty payload there) or overwritten, a member
// asked, or it is time to refresh it. Requests coalesce: however many
// arrive, one announcement runs at a time, and one more after it if any
// came meanwhile, at most one per announceInterval — a flood of them
// costs neither a goroutine each nor more publishes than that.
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
				r.announceMu.Lock()
				wait := time.Until(r.lastAnnounce.Add(announceInterval))
				r.announceMu.Unlock()
				if wait > 0 {
					time.Sleep(wait) // pacing, not waiting for a condition
				}
				s.announce(r, false)
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

// openMessage opens a payload of the message topic.
func (s *Service) openMessage(r *room, payload []byte) (MemberID, body, error) {
	sender, b, err := open(r.aead, r.topics.messages, payload)
	if err != nil {
		return "", body{}, err
	}
	if b.Type != typeMessage {
		return "", body{}, fmt.Errorf("%w: %s body on the message topic", errPayloadBody, b.Type)
	}
	return sender, b, nil
}

// show shows message b of sender, unless it is not new, and calls handled
// once it is shown or found not new.
func (s *Service) show(r *room, sender MemberID, b body, handled func()) {
	m := Message{
		ID: b.ID, Room: r.id, Sender: sender, Name: b.Name, Text: b.Text,
		Time: time.UnixMilli(b.TS), Own: sender == s.me,
	}
	r.mu.Lock()
	if !r.seen.add(m.ID) {
		r.mu.Unlock()
		handled()
		return // a redelivery or our own echo: already shown
	}
	switch r.admit(sender, b, handled, time.Now()) {
	case admitHold:
		r.seen.forget(m.ID)
		r.mu.Unlock()
		return
	case admitSeen:
		// A genuine message shown before: someone recorded it and
		// published it again, or the broker delivers it once more.
		r.replayed++
		r.mu.Unlock()
		handled()
		return
	}
	// On disk before on screen: after a crash it is still known as shown.
	// The room's shower writes the marks once for every batch that came
	// while it wrote the last.
	r.toShow = append(r.toShow, toShow{m: m, handled: handled})
	start := !r.showing
	r.showing = true
	r.mu.Unlock()
	if start {
		go s.showLoop(r)
	}
}

// showLoop shows r's admitted messages, in order, a batch at a time: the
// batch's marks are saved first. It ends when none is left.
func (s *Service) showLoop(r *room) {
	for {
		r.mu.Lock()
		batch := r.toShow
		r.toShow = nil
		if len(batch) == 0 {
			r.showing = false
			r.mu.Unlock()
			return
		}
		// Everything admitted so far is in this batch or shown already.
		r.savedMarks = r.marks.snapshot()
		r.marksGen++
		gen := r.marksGen
		r.mu.Unlock()
		if !s.persist() {
			r.mu.Lock()
			onDisk := r.diskGen >= gen
			if !onDisk {
				r.showing = false
			}
			r.mu.Unlock()
			if !onDisk {
				// Stopping (or the disk refuses): not shown, not
				// acknowledged; the broker sends them again to the next
				// run.
				return
			}
			// Stopping, but an earlier write (Shutdown's) took these
			// marks: the next run would take the messages for replays,
			// so they are shown now.
		}
		for _, ts := range batch {
			s.display(r, ts.m)
			ts.handled()
		}
	}
}

// display puts m in r's history and tells the subscribers and the
// notifier.
func (s *Service) display(r *room, m Message) {
	// A message to a room the user is looking at is read as it arrives.
	focused := s.focusedOn(r.id)
	r.mu.Lock()
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
}

// releaseHeld decides the messages held back for sender's presence (all,
// if sender is empty: the hold is over).
func (s *Service) releaseHeld(r *room, sender MemberID) {
	r.mu.Lock()
	held := r.release(sender)
	r.mu.Unlock()
	for _, h := range held {
		s.show(r, h.sender, h.b, h.handled)
	}
}

func (s *Service) onPresence(r *room, tag string, p Packet) error {
	payload := p.Payload
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
		delete(r.heard, m)
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
	if sender == s.me {
		return nil // our own, echoed
	}
	r.mu.Lock()
	changed := r.heardFrom(sender, tag, b.Name, time.Now())
	_, known := r.marks[sender]
	// A live presence (not the retained copy the broker keeps, which
	// comes on subscribing, possibly ahead of messages queued for us) of
	// a sender we know nothing of tells where its sequence stands:
	// whatever it had sent before is not new to us, and a copy of it
	// published again is a replay. Later, its messages move its mark.
	learn := !known && !p.Retained && b.Run > 0
	if learn {
		mk := r.marks.get(sender)
		mk.raise(b.Run, b.Seq)
		r.savedMarks[sender] = *mk
		if len(r.savedMarks) > maxMarks {
			// Senders evicted from marks go from here too.
			maps.DeleteFunc(r.savedMarks, func(m MemberID, _ Mark) bool { return r.marks[m] == nil })
		}
	}
	r.mu.Unlock()
	if changed {
		s.hub.emit(Event{Kind: EventMembers, Room: r.id})
	}
	if learn {
		s.persist()
		s.releaseHeld(r, sender)
	}
	if b.Ask {
		s.reannounce(r)
	}
	return nil
}
