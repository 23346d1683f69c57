package rooms

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"strings"
	"sync/atomic"
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
	notify   NotifyLevel
	joinedAt int64             // SavedRoom.JoinedAt; now if zero
	marks    map[MemberID]Mark // SavedRoom.Marks
	older    []MemberID        // SavedRoom.OlderPeers
}

// attach opens the room's broker session, announces this member, and adds
// the room to the joined ones.
func (s *Service) attach(ctx context.Context, id ID, gen int64, key Key, opt attachOptions) error {
	now := time.Now()
	r := newRoom(id, gen, key, s.cfg.HistoryLimit)
	r.files = newRoomFiles(s.cfg.FileBudget)
	r.rec = opt.rec
	r.password = opt.password
	r.notify = cmp.Or(opt.notify, NotifyAll)
	r.joinedAt = cmp.Or(opt.joinedAt, now.UnixMilli())
	r.marks = marksFrom(opt.marks)
	for _, m := range opt.older {
		r.olderPeers[m] = true
	}
	for m := range opt.marks {
		r.prior[m] = true
	}
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
		// deliver neither publishes nor writes on the transport's
		// goroutine (see deliver).
		DeliverInline: true,
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
			if r.expireStale(s.me, time.Now(), -1) {
				s.hub.emit(Event{Kind: EventMembers, Room: id})
			}
			s.hub.emit(Event{Kind: EventConnection, Room: id})
		},
	})
	if err != nil {
		return err
	}
	r.setSession(sess)
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
// asks the others to announce themselves too (live: a retained copy
// alone does not keep a member listed, see confirmWindow), at most once
// per announceInterval each, however often they are asked. It never runs after detach
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
	seq := r.ownSeq()
	payload, err := seal(r.aead, r.topics.presenceOf(s.me), s.cfg.Identity, body{
		Type: typePresence, Name: s.Name(), TS: time.Now().UnixMilli(), State: "online",
		Run: s.cfg.Run, Seq: seq, Ask: ask, Batches: true,
	})
	if err != nil {
		s.log.Error("seal presence", "room", r.id, "err", err)
		return
	}
	r.lastAnnounce = time.Now()
	if ask {
		// Every live member answers within announceInterval; those
		// listed only from a retained copy by then are not here.
		time.AfterFunc(confirmWindow, func() { s.confirmPresence(r) })
	}
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

// confirmWindow is how long after asking the members to announce
// themselves a member listed only from a retained presence stays listed
// without a live one. The retained copy is a hint: RabbitMQ's nodes keep
// retained messages to themselves, so a member who moved to another node
// leaves its old copy behind on the first, which its Will and its leave
// do not clear. Live members answer an ask within announceInterval (plus
// a busy machine's delays).
const confirmWindow = holdWindow

// confirmPresence drops the members of r that are listed only from a
// retained presence: none answered our ask live.
func (s *Service) confirmPresence(r *room) {
	if r.dropTentative() && s.room(r.id) == r {
		s.hub.emit(Event{Kind: EventMembers, Room: r.id})
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
	r.detached.Store(true)
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

// deliver takes one packet from the room's session, and calls handled
// once it is handled: a message once its mark is saved and it is shown
// (or found not new), anything else at once. Nothing from the network can
// make it fail: what does not open is counted and dropped. A packet with
// others queued behind it goes through the room's pipeline, which opens
// messages on every core (see pipeline.go); a lone one is handled here,
// even on the transport's goroutine (Packet.Inline): handling blocks on
// nothing but the marks' write, which is then handed off (see handle).
func (s *Service) deliver(r *room, p Packet, handled func()) {
	in := &inbound{r: r, p: p, handled: handled}
	message := p.Topic == r.topics.messages && !p.Retained
	if message {
		// The echo of our own message: we know what it says.
		in.b, in.known = r.echoOf(p.Payload)
		if in.known {
			in.sender = s.me
		}
	}
	if p.Queued == 0 && r.pipe.idle() {
		// On the transport's own goroutine (Inline) the message is opened
		// and admitted here, but shown here only if that writes nothing:
		// the marks' write must never hold up the transport.
		s.handle(r, in, !p.Inline || s.store == nil)
		return
	}
	if len(p.Payload) > maxPiecePayload {
		// Too large to open, whatever its place: rejected now rather than
		// held in the pipeline, whose memory stays bounded by
		// pipelineLen × maxPiecePayload (a flood of 1 MiB blobs). Not at
		// MaxPayloadBytes: a file's pieces are larger, and must be
		// handled in their turn, after their file's header.
		s.handle(r, in, false)
		return
	}
	if message && !in.known {
		in.opened = make(chan struct{})
		s.openers.submit(in)
	}
	if r.pipe.push(in) {
		go s.admit(r)
	}
}

// handle handles one packet, in its turn: the packets of a room are
// handled one at a time, in the order they came. alone says that it is
// handled on the delivering goroutine with nothing queued behind it: a
// message is then shown there too, if it can be at once (see show). The
// session waits meanwhile — for the state file's write, in the daemon —
// and what comes during it queues behind, to go through the pipeline.
func (s *Service) handle(r *room, in *inbound, alone bool) {
	p := in.p
	var err error
	switch {
	case p.Topic == r.topics.messages && p.Retained:
		err = errRetained
	case p.Topic == r.topics.messages:
		sender, b := in.sender, in.b
		switch {
		case in.opened != nil:
			err = in.err
		case !in.known:
			sender, b, err = openMessage(r, p.Payload)
		}
		if err == nil {
			switch b.Type {
			case typeMessage:
				s.show(r, sender, b, in.handled, alone)
				return
			case typeBatch:
				s.showAll(r, sender, b.batch, in.handled, alone)
				return
			case typeWant:
				if sender != s.me {
					s.onWant(r, sender, b)
				}
				in.handled()
				return
			}
			// A file's header or piece: handled there, unless refused.
			if err = s.receiveFile(r, sender, b, in.handled); err == nil {
				return
			}
		}
	case p.Topic == r.topics.typing:
		err = s.onTyping(r, p)
	default:
		tag, ok := r.topics.tagOfPresence(p.Topic)
		if !ok {
			err = fmt.Errorf("unexpected topic %q", p.Topic)
			break
		}
		err = s.onPresence(r, tag, p)
	}
	in.handled()
	if err != nil {
		n := r.reject()
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
func openMessage(r *room, payload []byte) (MemberID, body, error) {
	sender, b, err := open(r.aead, r.topics.messages, payload)
	if err != nil {
		return "", body{}, err
	}
	if b.Type != typeMessage && b.Type != typeBatch && b.Type != typeFile && b.Type != typePiece && b.Type != typeWant {
		return "", body{}, fmt.Errorf("%w: %s body on the message topic", errPayloadBody, b.Type)
	}
	return sender, b, nil
}

// show shows message b of sender, unless it is not new, and calls handled
// once it is shown or found not new. With here, the caller's goroutine
// shows it if no showLoop is under way: a lone message from the session,
// nothing behind it, shown without a hand-off.
func (s *Service) show(r *room, sender MemberID, b body, handled func(), here bool) {
	// On disk before on screen: after a crash it is still known as shown.
	// The room's showLoop writes the marks once for every batch that came
	// while it wrote the last.
	if r.queueShow(s.messageOf(r, sender, b), sender, b, handled, time.Now()) {
		s.startShowing(r, here)
	}
}

// messageOf is message b of sender in r, as it is shown.
func (s *Service) messageOf(r *room, sender MemberID, b body) Message {
	return Message{
		ID: b.ID, Room: r.id, Sender: sender, Name: b.Name, Text: b.Text,
		Time: time.UnixMilli(b.TS), Own: sender == s.me, File: b.File.info(),
	}
}

// startShowing runs r's showLoop, on the caller's goroutine with here.
func (s *Service) startShowing(r *room, here bool) {
	if here {
		s.showLoop(r)
	} else {
		go s.showLoop(r)
	}
}

// showAll shows the messages of a batch of sender, in order, as show
// shows one, and calls handled once each is shown or found not new.
func (s *Service) showAll(r *room, sender MemberID, bodies []body, handled func(), here bool) {
	var left atomic.Int32
	left.Store(int32(len(bodies)))
	each := func() {
		if left.Add(-1) == 0 {
			handled()
		}
	}
	start := false
	now := time.Now()
	for _, b := range bodies {
		if r.queueShow(s.messageOf(r, sender, b), sender, b, each, now) {
			start = true
		}
	}
	if start {
		s.startShowing(r, here)
	}
}

// showLoop shows r's admitted messages, in order, a batch at a time: the
// batch's marks are saved first. It ends when none is left.
func (s *Service) showLoop(r *room) {
	for s.showBatch(r) {
	}
}

// showBatch shows the admitted messages of r that wait, after saving
// their marks, and reports whether it did (false: none waited, or the
// daemon is stopping).
func (s *Service) showBatch(r *room) bool {
	// From the moment the batch's marks are where any write of the state
	// file takes them until the batch is shown, Shutdown waits: its last
	// write must not put on disk the marks of a batch that, refused by
	// the stop, is not shown — the broker sends it again to the next run,
	// which would drop it as a replay.
	s.showMu.RLock()
	defer s.showMu.RUnlock()
	batch := r.takeBatch()
	if batch == nil {
		return false
	}
	if !s.persist() {
		// Stopping (or the disk refuses): not shown, not acknowledged;
		// the broker sends them again to the next run.
		r.stopShowing()
		return false
	}
	yielded := false
	for _, ts := range batch {
		if s.display(r, ts.m) && !yielded {
			// Let the subscriber just woken (the local API's stream, the
			// chat window) run before this goroutine goes on to the
			// acknowledgement and Paho's own hand-offs, which would
			// otherwise run first on this core: about 20 µs of a lone
			// message's latency on a loaded machine (docs/performance.md).
			// Once a batch: in a burst the subscriber keeps up by itself.
			runtime.Gosched()
			yielded = true
		}
		ts.handled()
	}
	return true
}

// display puts m in r's history and tells the subscribers and the
// notifier. It reports whether it handed m to a subscriber.
func (s *Service) display(r *room, m Message) (woke bool) {
	// A message to a room the user is looking at is read as it arrives.
	// Most messages have no "@": they pay one scan for mentions.
	if !m.Own && strings.IndexByte(m.Text, '@') >= 0 {
		m.Mention = Mentions(m.Text, s.Name(), r.memberNames(s.me)...)
	}
	level := r.addShown(m, s.focusedOn(r.id))

	woke = s.hub.emit(Event{Kind: EventMessage, Room: r.id, Message: &m})
	if !m.Own && level.notifies(m.Mention) {
		s.queueNotification(m)
	}
	return woke
}

// releaseHeld decides the messages held back for sender's presence (all,
// if sender is empty: the hold is over).
func (s *Service) releaseHeld(r *room, sender MemberID) {
	held := r.releaseHeld(sender)
	for _, h := range held {
		s.show(r, h.sender, h.b, h.handled, false)
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
		if r.memberGone(tag) {
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
	changed, learn, older := r.presenceFrom(sender, tag, b, p.Retained, time.Now())
	if older {
		s.save() // so that it is still known after a restart, while it is away
	}
	if changed {
		s.hub.emit(Event{Kind: EventMembers, Room: r.id})
	}
	if learn {
		// Floors are not saved (they decide only the short hold after a
		// join): nothing to write here.
		s.releaseHeld(r, sender)
	}
	if b.Ask {
		s.reannounce(r)
	}
	return nil
}
