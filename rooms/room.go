package rooms

import (
	"bytes"
	"context"
	"crypto/cipher"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// seenLimit bounds de-duplication memory per room (ids of 32 bytes: about
// 300 KiB per room at most).
const seenLimit = 8192

// Registry states of a joined room (RoomInfo.Registry). The registry is
// not trusted to end a conversation: whatever it says, a room goes on over
// the broker until the user leaves it.
const (
	// RegistryOK: the lease was renewed at the last heartbeat.
	RegistryOK = "ok"
	// RegistryUnreachable: the registry did not answer; the lease will be
	// renewed when it does.
	RegistryUnreachable = "unreachable"
	// RegistryReused: the registry gave the room's number to another room
	// (its rows were replaced). The conversation goes on over the broker
	// with the members who are in it; nobody new can join it by number.
	RegistryReused = "reused"
	// RegistryLost: the registry lost the room and it could not be
	// registered again yet (it is tried at every heartbeat).
	RegistryLost = "lost"
)

// room is a joined room's runtime state.
type room struct {
	id     ID
	gen    int64
	key    Key
	aead   cipher.AEAD
	topics topics

	mu       sync.Mutex
	rec      Record // as the registry had it when we joined; for Reregister
	sess     Session
	password string // known only if given in this run; never saved
	hist     *history
	files    *roomFiles // its own lock
	seen     *seenSet
	members  map[MemberID]string    // live presence: member → display name
	heard    map[MemberID]time.Time // when each member's presence last came
	tags     map[string]MemberID    // member tags seen on presence topics
	// tentative are the members listed only from a retained presence, a
	// copy the broker kept: on a cluster whose nodes keep retained
	// messages to themselves (RabbitMQ), it may be a member's old copy
	// on a node it left. Its live answer to our ask confirms it; without
	// one it is dropped (see confirmWindow).
	tentative map[MemberID]bool
	unread    int
	notify    NotifyLevel
	leases    int    // live leases in the registry, as of the last heartbeat
	registry  string // one of the Registry* states
	rejected  uint64 // payloads that did not open or were malformed
	replayed  uint64 // genuine payloads shown before, published again
	// typingSent is when our last typing signal went out; typingTaken,
	// when each member's last one was taken (see typing.go).
	typingSent  time.Time
	typingTaken map[MemberID]time.Time

	// joinedAt is when this member joined the room (Unix ms; kept across
	// restarts): a message of an unknown sender from before then is a
	// replay. marks say how far each sender's messages were shown; seq
	// counts our own messages in this run.
	joinedAt int64
	marks    marks
	// prior are the senders whose marks the state file had when the room
	// was opened; floors, where each sender's sequence stood when its live
	// presence came (see admit).
	prior  map[MemberID]bool
	floors map[MemberID]Mark
	// savedMarks are the marks the state file gets: those of the messages
	// shown or about to be (taken by showLoop), never of messages only
	// admitted, which a stop or a crash may leave unshown — and which
	// must then be shown when the broker sends them again.
	savedMarks map[MemberID]Mark
	seq        uint64
	attached   time.Time
	holdUntil  time.Time
	held       []heldMessage
	// toShow are admitted messages waiting for their marks to be saved;
	// showing is set while a showLoop runs for them.
	toShow  []toShow
	showing bool
	// ownPending are our messages waiting for the broker's confirmation,
	// with the acknowledgement of their echo if it came meanwhile.
	ownPending map[string]func()
	// olderPeers are the members seen whose presence did not say they
	// open batches (kept across restarts: they may be away, the broker
	// queueing for them), up to maxMarks; manyOlder is set if there were
	// more. out is our messages waiting to be sealed (see batch.go).
	olderPeers map[MemberID]bool
	manyOlder  bool
	out        outbox
	// pipe holds the packets being opened ahead of their turn (see
	// pipeline.go).
	pipe *pipeline
	// sealed are our recent messages' payloads as we sealed them, by
	// nonce, with their bodies: the broker's echo of one needs no opening
	// (see sealedOwn).
	sealed      map[[nonceBytes]byte]sealedMessage
	sealedOrder [][nonceBytes]byte // oldest first, to bound sealed
	// ownRunOnDisk is the run a write of the state file holds as our
	// newest in the room (see beginOwnRun).
	ownRunOnDisk uint64

	// announcing is set while a reannounce goroutine runs; announceWanted
	// asks it for one more announcement (see Service.reannounce).
	announcing, announceWanted atomic.Bool
	// announceMu orders announcements with detach; leaving, set by detach
	// under it, ends them (see Service.announce). lastAnnounce paces them.
	announceMu sync.Mutex
	leaving    bool
	// detached is set when detach begins, for those that must not wait
	// for announceMu (an announcement holds it until the broker answers).
	detached     atomic.Bool
	lastAnnounce time.Time
	// announcing ends with detach: an announcement waiting for a broker
	// that does not answer must not hold detach (and the daemon's stop)
	// up for its whole publishTimeout.
	announceCtx  context.Context
	stopAnnounce context.CancelFunc
}

// toShow is an admitted message and what acknowledges it to the broker,
// once it is shown.
type toShow struct {
	m       Message
	handled func()
}

// heldMessage is a message held back until its sender's presence tells
// whether it is new (see holdWindow).
type heldMessage struct {
	sender  MemberID
	b       body
	handled func()
}

func newRoom(id ID, gen int64, key Key, historyLimit int) *room {
	actx, stop := context.WithCancel(context.Background())
	return &room{
		announceCtx:  actx,
		stopAnnounce: stop,
		id:           id,
		gen:          gen,
		key:          key,
		aead:         newAEAD(key),
		topics:       topicsFor(key),
		hist:         newHistory(historyLimit),
		files:        newRoomFiles(0),
		seen:         newSeenSet(seenLimit),
		members:      make(map[MemberID]string),
		olderPeers:   make(map[MemberID]bool),
		heard:        make(map[MemberID]time.Time),
		tags:         make(map[string]MemberID),
		tentative:    make(map[MemberID]bool),
		marks:        make(marks),
		prior:        make(map[MemberID]bool),
		floors:       make(map[MemberID]Mark),
		savedMarks:   make(map[MemberID]Mark),
		ownPending:   make(map[string]func()),
		pipe:         newPipeline(),
		sealed:       make(map[[nonceBytes]byte]sealedMessage),
		leases:       1,
		registry:     RegistryOK,
	}
}

func (r *room) session() Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sess
}

// admission is what becomes of an incoming message.
type admission int

const (
	admitNew  admission = iota // show it
	admitSeen                  // shown before, or a replay: drop it
	admitHold                  // wait for the sender's presence
)

// admit decides, under r.mu, whether message b of sender is new, and if it
// is, records it in the sender's mark. The caller saves the marks before
// showing the message.
func (r *room) admit(sender MemberID, b body, handled func(), now time.Time) admission {
	if b.TS < r.joinedAt && !r.prior[sender] {
		// Stamped before we joined, by a sender we had no mark of then: a
		// replay of something we were never sent, unless the sender's
		// clock is behind. The sender's live presence says where its
		// sequence stood; until it comes, wait.
		switch fl, ok := r.floors[sender]; {
		case ok:
			if b.Run < fl.Run || b.Run == fl.Run && b.Seq <= fl.Seq {
				return admitSeen
			}
		case now.Before(r.holdUntil) && len(r.held) < maxHeld:
			r.held = append(r.held, heldMessage{sender: sender, b: b, handled: handled})
			return admitHold
		case b.TS < r.joinedAt-replaySkew.Milliseconds():
			return admitSeen
		}
	}
	if !r.marks.get(sender).accept(b.Run, b.Seq) {
		return admitSeen
	}
	return admitNew
}

// release takes the held messages of sender (all of them if sender is
// empty) off the hold list.
func (r *room) release(sender MemberID) []heldMessage {
	var out, keep []heldMessage
	for _, h := range r.held {
		if sender == "" || h.sender == sender {
			out = append(out, h)
		} else {
			keep = append(keep, h)
		}
	}
	r.held = keep
	return out
}

// heardFrom records member's presence, and reports whether the member
// list changed.
func (r *room) heardFrom(member MemberID, tag, name string, now time.Time) bool {
	old, was := r.members[member]
	r.members[member] = name
	r.heard[member] = now
	r.tags[tag] = member
	return !was || old != name
}

// expire drops the members (but self) whose presence has not come for
// ttl, and reports whether any was dropped: a presence with no live
// session behind it (planted, or left behind by a broker that lost a Will)
// does not stay.
func (r *room) expire(self MemberID, now time.Time, ttl time.Duration) bool {
	changed := false
	for m := range r.members {
		if m != self && now.Sub(r.heard[m]) > ttl {
			delete(r.members, m)
			delete(r.heard, m)
			delete(r.tentative, m)
			changed = true
		}
	}
	if changed {
		for tag, m := range r.tags {
			if _, ok := r.members[m]; !ok {
				delete(r.tags, tag)
			}
		}
	}
	return changed
}

// others reports whether any member but self is present.
func (r *room) others(self MemberID) bool {
	for m := range r.members {
		if m != self {
			return true
		}
	}
	return false
}

// RoomInfo is a snapshot of a joined room.
type RoomInfo struct {
	ID         ID
	Generation int64
	// Members is the live member list from presence, this daemon included.
	Members []Member
	// Leases is the number of live leases in the registry at the last
	// heartbeat: the crash-safe count.
	Leases int
	Unread int
	// Notify is the room's notification level; Muted is Notify == NotifyNone.
	Notify    NotifyLevel
	Muted     bool
	Connected bool
	// Registry is what the registry last said of the room: one of the
	// Registry* states.
	Registry string
	// Rejected counts payloads on the room's topics that did not open
	// with the room key or were malformed; Replayed, genuine payloads
	// that had been shown before and were published again; Waits, how
	// often the daemon held up the broker because it was behind (nothing
	// is dropped).
	Rejected uint64
	Replayed uint64
	Waits    uint64
	// FilesDropped counts files refused (beyond the room's bounds, not
	// matching their hash, a piece out of place) or dropped because
	// their pieces stopped coming; each is never shown.
	FilesDropped uint64
	// CanInvite is true when the password is known to this run of the
	// daemon (it is never saved).
	CanInvite bool
	// Topic is the room's message topic on the broker; PresenceTopic this
	// member's presence topic there (for diagnostics: both are pseudonyms).
	Topic, PresenceTopic string
	// Node is the broker node the room's session uses (or last used), if
	// the Session says (a NodeSession): with a cluster's nodes, which.
	Node string
}

// LastMember reports whether this daemon is, as far as it can tell, the
// room's last live member, so that leaving would close the room: presence
// shows no other member; or, while the broker is out of reach and presence
// may be stale, the registry counted no lease but ours at its last
// heartbeat. Presence goes first because it is live: the registry's count
// lags by up to a heartbeat (30 s) both after a member left and after one
// joined. It errs towards true: a member whose daemon is offline but whose
// lease lives keeps the room open, yet is not present.
func (r RoomInfo) LastMember() bool {
	for _, m := range r.Members {
		if !m.Self {
			return !r.Connected && r.Leases <= 1
		}
	}
	return true
}

// Member is one member of a room as presence shows it.
type Member struct {
	ID   MemberID
	Name string
	Self bool
}

func (r *room) info(self MemberID) RoomInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	in := RoomInfo{
		ID:         r.id,
		Generation: r.gen,
		Leases:     r.leases,
		Unread:     r.unread,
		Notify:     r.notify,
		Muted:      r.notify == NotifyNone,
		Registry:   r.registry,
		Rejected:   r.rejected,
		Replayed:   r.replayed,
		CanInvite:  r.password != "",
		Topic:      r.topics.messages,

		PresenceTopic: r.topics.presenceOf(self),
	}
	for m, name := range r.members {
		in.Members = append(in.Members, Member{ID: m, Name: name, Self: m == self})
	}
	sortMembers(in.Members)
	in.FilesDropped = r.files.droppedFiles()
	if r.sess != nil {
		in.Connected = r.sess.Connected()
		in.Waits = r.sess.Waits()
		if ns, ok := r.sess.(NodeSession); ok {
			in.Node = ns.Node()
		}
	}
	return in
}

// saved returns what the state file keeps of r.
func (r *room) saved() SavedRoom {
	r.mu.Lock()
	defer r.mu.Unlock()
	sr := SavedRoom{ID: r.id, Generation: r.gen, Key: r.key.Bytes(), Notify: r.notify, Muted: r.notify == NotifyNone, JoinedAt: r.joinedAt, Marks: maps.Clone(r.savedMarks)}
	for m := range r.olderPeers {
		sr.OlderPeers = append(sr.OlderPeers, m)
	}
	slices.Sort(sr.OlderPeers)
	if len(r.rec.Salt) > 0 {
		kdf := r.rec.KDF
		sr.Salt, sr.KDF, sr.Verifier = r.rec.Salt, &kdf, r.rec.Verifier
	}
	return sr
}

// The room's state changes through these methods, each under r.mu; the
// Service never takes the room's lock itself. Those that report a change
// let the caller tell the subscribers.

// setPassword records the password given in this run (never saved).
func (r *room) setPassword(p string) {
	r.mu.Lock()
	r.password = p
	r.mu.Unlock()
}

// invitePassword returns the password, if this run knows it.
func (r *room) invitePassword() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.password
}

// setLeases records the registry's count of live leases.
func (r *room) setLeases(n int) (changed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	changed = r.leases != n
	r.leases = n
	return changed
}

// setRegistryState records what the registry said of the room.
func (r *room) setRegistryState(state string) (changed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	changed = r.registry != state
	r.registry = state
	return changed
}

// history returns the messages kept, oldest first.
func (r *room) history() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hist.list()
}

// expireStale is expire under the lock.
func (r *room) expireStale(self MemberID, now time.Time, ttl time.Duration) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.expire(self, now, ttl)
}

// registryView returns the record to register the room again with, and
// whether the member is alone in it and has been for longer than settle.
func (r *room) registryView(self MemberID, settle time.Duration) (Record, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rec, !r.others(self) && time.Since(r.attached) > settle
}

// setSession records the room's open broker session.
func (r *room) setSession(s Session) {
	r.mu.Lock()
	r.sess = s
	r.mu.Unlock()
}

// ownSeq is how many messages this member has sent in the room this run.
func (r *room) ownSeq() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seq
}

// reject counts a payload that did not open or broke a rule.
func (r *room) reject() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rejected++
	return r.rejected
}

// queueShow decides whether message m (body b of sender) is new and, if
// it is, queues it to be shown; start says whether the caller must start
// a showLoop. handled is called at once for a message that is not new.
func (r *room) queueShow(m Message, sender MemberID, b body, handled func(), now time.Time) (start bool) {
	r.mu.Lock()
	if !r.seen.add(m.ID) {
		if ack, ok := r.ownPending[m.ID]; ok && ack == nil {
			// Our echo, before the confirmation: acknowledged once the
			// message is ours for good (see sentOwn).
			r.ownPending[m.ID] = handled
			r.mu.Unlock()
			return false
		}
		r.mu.Unlock()
		handled()
		return false // a redelivery or our own echo: already shown
	}
	switch r.admit(sender, b, handled, now) {
	case admitHold:
		r.seen.forget(m.ID)
		r.mu.Unlock()
		return false
	case admitSeen:
		// A genuine message shown before: someone recorded it and
		// published it again, or the broker delivers it once more.
		r.replayed++
		r.mu.Unlock()
		handled()
		return false
	}
	r.toShow = append(r.toShow, toShow{m: m, handled: handled})
	start = !r.showing
	r.showing = true
	r.mu.Unlock()
	return start
}

// takeBatch takes the messages waiting to be shown, and records their
// marks as those the state file gets; with none left, it ends the
// showLoop and returns nil.
func (r *room) takeBatch() []toShow {
	r.mu.Lock()
	defer r.mu.Unlock()
	batch := r.toShow
	r.toShow = nil
	if len(batch) == 0 {
		r.showing = false
		return nil
	}
	// Everything admitted so far is in this batch or shown already.
	r.savedMarks = r.marks.snapshot()
	return batch
}

// stopShowing ends the showLoop without showing what waits.
func (r *room) stopShowing() {
	r.mu.Lock()
	r.showing = false
	r.mu.Unlock()
}

// addShown puts m in the history, unread unless the user is looking, and
// returns the room's notification level.
func (r *room) addShown(m Message, focused bool) NotifyLevel {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hist.add(m)
	if !m.Own && !focused {
		r.unread++
	}
	return r.notify
}

// releaseHeld takes the held messages of sender (all if empty).
func (r *room) releaseHeld(sender MemberID) []heldMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.release(sender)
}

// memberGone drops the member of a presence tag whose presence was
// cleared, and reports whether there was one.
func (r *room) memberGone(tag string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, was := r.tags[tag]
	delete(r.tags, tag)
	delete(r.members, m)
	delete(r.heard, m)
	delete(r.tentative, m)
	return was
}

// presenceFrom records sender's presence. A live presence (not the
// retained copy the broker keeps, which comes on subscribing) tells where
// the sender's sequence stands (learned): a message of its that claims to
// be from before our join and is not past that is a replay (see admit).
func (r *room) presenceFrom(sender MemberID, tag string, b body, retained bool, now time.Time) (changed, learned, olderLearned bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, listed := r.members[sender]
	switch {
	case !retained:
		delete(r.tentative, sender)
	case !listed || r.tentative[sender]:
		r.tentative[sender] = true
	}
	changed = r.heardFrom(sender, tag, b.Name, now)
	switch {
	case b.Batches:
		delete(r.olderPeers, sender)
	case r.olderPeers[sender]:
	case len(r.olderPeers) >= maxMarks:
		r.manyOlder = true // a flood of identities: alone for good
	default:
		r.olderPeers[sender] = true
		olderLearned = true
	}
	if retained || b.Run == 0 {
		return changed, false, olderLearned
	}
	if len(r.floors) >= maxMarks {
		clear(r.floors) // a flood of identities; the hold is short anyway
	}
	if fl := r.floors[sender]; b.Run > fl.Run || b.Run == fl.Run && b.Seq > fl.Seq {
		r.floors[sender] = Mark{Run: b.Run, Seq: b.Seq}
	}
	return changed, true, olderLearned
}

// batching reports whether our messages may go in batches: no member
// seen in the room (present or away) is known not to open them, and the
// presences that the broker keeps have had time to come since the
// session opened (a member away is known only from them, or from the
// state file).
func (r *room) batching(now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.olderPeers) == 0 && !r.manyOlder && !now.Before(r.holdUntil)
}

// dropTentative drops the members listed only from retained copies, and
// reports whether there were any.
func (r *room) dropTentative() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for m := range r.tentative {
		delete(r.members, m)
		delete(r.heard, m)
		for tag, tm := range r.tags {
			if tm == m {
				delete(r.tags, tag)
			}
		}
	}
	changed := len(r.tentative) > 0
	clear(r.tentative)
	return changed
}

// markRead sets the unread count to zero.
func (r *room) markRead() (changed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	changed = r.unread != 0
	r.unread = 0
	return changed
}

// setNotify sets the room's notification level.
func (r *room) setNotify(l NotifyLevel) {
	r.mu.Lock()
	r.notify = l
	r.mu.Unlock()
}

// renamed records this member's new display name.
func (r *room) renamed(self MemberID, name string) {
	r.mu.Lock()
	r.members[self] = name
	r.mu.Unlock()
}

// nextOwn numbers our next message in the room and notes its id as seen,
// so that the broker's echo is not shown again in this run.
func (r *room) nextOwn(id string) (seq uint64, sess Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	r.seen.add(id)
	r.ownPending[id] = nil
	return r.seq, r.sess
}

// confirmOwn marks our message (run, seq), confirmed by the broker, as
// shown, in the marks and in those the state file gets: our own mark
// moves only with confirmed messages. The saved mark moves by itself, not
// as a copy of the admission mark, which may hold the echo of an earlier
// run's message (one a stop or a crash cut short) admitted and not shown
// yet: on disk, that echo would pass for shown, and when the broker sends
// it again to the next run, for a replay.
func (r *room) confirmOwn(self MemberID, run, seq uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.marks.get(self).accept(run, seq)
	saved := r.savedMarks[self].clone()
	saved.accept(run, seq)
	r.savedMarks[self] = saved
}

// beginOwnRun makes this run our newest in the room's marks, and reports
// whether the state file may not have it yet: the caller saves it, and
// then calls ownRunSaved, before our first message of the run goes out,
// so that the echo of a message of the run before (cut short by a crash
// or a stop) is still taken when it comes again — a message of a run the
// mark does not know, older than its newest, passes for a replay. As in
// confirmOwn, the saved mark moves by itself.
func (r *room) beginOwnRun(self MemberID, run uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ownRunOnDisk == run {
		return false
	}
	r.marks.get(self).begin(run)
	saved := r.savedMarks[self].clone()
	saved.begin(run)
	r.savedMarks[self] = saved
	return true
}

// ownRunSaved records that a write of the state file holds run as our
// newest.
func (r *room) ownRunSaved(run uint64) {
	r.mu.Lock()
	r.ownRunOnDisk = run
	r.mu.Unlock()
}

// sentOwn ends the wait for our message id's confirmation; its echo, if
// it came meanwhile, is acknowledged now (the caller has saved its mark):
// had the daemon stopped before, the echo would come to the next run, and
// show there.
func (r *room) sentOwn(id string) {
	r.mu.Lock()
	ack := r.ownPending[id]
	delete(r.ownPending, id)
	r.mu.Unlock()
	if ack != nil {
		ack()
	}
}

// unsend takes our message back: not confirmed by the broker, it may
// still go out, and its echo must then be shown. It reports whether the
// echo came already: then the message went out after all.
func (r *room) unsend(id string) (echoed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	echoed = r.ownPending[id] != nil
	if !echoed {
		delete(r.ownPending, id)
		r.seen.forget(id)
	}
	return echoed
}

// detaching reports whether detach has begun: the session is closing.
func (r *room) detaching() bool { return r.detached.Load() }

// sealedMessage is a payload we sealed and its body.
type sealedMessage struct {
	payload []byte
	b       body
}

// maxSealed bounds the payloads remembered per room (at most about
// 1.1 MiB of the largest texts): an echo that does not come (the send
// failed) is forgotten after as many newer sends, and one that comes
// later than that is opened as anything else.
const maxSealed = 256

// nonceBytes is the size of a payload's nonce, which is random: it tells
// our payloads apart.
const nonceBytes = headerBytes - 1

// sealedOwn remembers payload, our message b as we sealed it: when the
// broker echoes it back, opening it — decrypting, verifying our own
// signature — would only give b again (see echoOf).
func (r *room) sealedOwn(payload []byte, b body) {
	var nonce [nonceBytes]byte
	copy(nonce[:], payload[1:headerBytes])
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sealedOrder) >= maxSealed {
		delete(r.sealed, r.sealedOrder[0])
		r.sealedOrder = r.sealedOrder[1:]
	}
	r.sealed[nonce] = sealedMessage{payload: payload, b: b}
	r.sealedOrder = append(r.sealedOrder, nonce)
}

// echoOf returns the body of payload if it is, byte for byte, one of our
// messages sealed in this run (see sealedOwn), and forgets it: a copy
// that comes again is opened as anything else. Anyone can republish our
// payload, but only unchanged, so whichever copy comes first is ours.
func (r *room) echoOf(payload []byte) (body, bool) {
	if len(payload) < headerBytes {
		return body{}, false
	}
	var nonce [nonceBytes]byte
	copy(nonce[:], payload[1:headerBytes])
	r.mu.Lock()
	defer r.mu.Unlock()
	sm, ok := r.sealed[nonce]
	if !ok || !bytes.Equal(sm.payload, payload) {
		return body{}, false
	}
	delete(r.sealed, nonce)
	return sm.b, true
}

// addOwn puts our own confirmed message in the history.
func (r *room) addOwn(m Message) {
	r.mu.Lock()
	r.hist.add(m)
	r.mu.Unlock()
}

// shownBefore reports whether message b of sender (a file's header, or
// one of its pieces, which carry its id) was shown, or is ours of this
// run: its id was seen, or its sender's mark covers it.
func (r *room) shownBefore(sender MemberID, b body) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen.has(b.ID) {
		return true
	}
	mk := r.marks[sender]
	return b.Type == typeFile && mk != nil && mk.Covers(b.Run, b.Seq)
}

// message returns the message id of the history.
func (r *room) message(id string) (Message, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hist.find(id)
}

// memberNames returns the display names of the present members but self.
func (r *room) memberNames(self MemberID) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.members))
	for m, name := range r.members {
		if m != self {
			names = append(names, name)
		}
	}
	return names
}
