package rooms

import (
	"context"
	"crypto/cipher"
	"maps"
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
	seen     *seenSet
	members  map[MemberID]string    // live presence: member → display name
	heard    map[MemberID]time.Time // when each member's presence last came
	tags     map[string]MemberID    // member tags seen on presence topics
	unread   int
	muted    bool
	leases   int    // live leases in the registry, as of the last heartbeat
	registry string // one of the Registry* states
	rejected uint64 // payloads that did not open or were malformed
	replayed uint64 // genuine payloads shown before, published again

	// joinedAt is when this member joined the room (Unix ms; kept across
	// restarts): a message of an unknown sender from before then is a
	// replay. marks say how far each sender's messages were shown; seq
	// counts our own messages in this run.
	joinedAt int64
	marks    marks
	// savedMarks are the marks the state file gets: those of the messages
	// shown or about to be (taken by showLoop), never of messages only
	// admitted, which a stop or a crash may leave unshown — and which
	// must then be shown when the broker sends them again.
	savedMarks map[MemberID]Mark
	// marksGen numbers showLoop's snapshots of savedMarks; diskGen is the
	// latest one a state file written to disk holds. A batch whose own
	// write failed (the daemon stopping) is shown all the same if another
	// write, Shutdown's last one say, took its marks to disk: else its
	// messages, not shown, would pass for replays when they come again.
	marksGen, diskGen uint64
	seq               uint64
	attached          time.Time
	holdUntil         time.Time
	held              []heldMessage
	// toShow are admitted messages waiting for their marks to be saved;
	// showing is set while a showLoop runs for them.
	toShow  []toShow
	showing bool

	// announcing is set while a reannounce goroutine runs; announceWanted
	// asks it for one more announcement (see Service.reannounce).
	announcing, announceWanted atomic.Bool
	// announceMu orders announcements with detach; leaving, set by detach
	// under it, ends them (see Service.announce). lastAnnounce paces them.
	announceMu   sync.Mutex
	leaving      bool
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
		seen:         newSeenSet(seenLimit),
		members:      make(map[MemberID]string),
		heard:        make(map[MemberID]time.Time),
		tags:         make(map[string]MemberID),
		marks:        make(marks),
		savedMarks:   make(map[MemberID]Mark),
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
	mk, known := r.marks[sender]
	if !known && b.TS < r.joinedAt {
		// Stamped before we joined, by a sender we know nothing of: a
		// replay of something we were never sent, unless the sender's
		// clock is behind. Its presence will tell; until then, wait.
		if now.Before(r.holdUntil) && len(r.held) < maxHeld {
			r.held = append(r.held, heldMessage{sender: sender, b: b, handled: handled})
			return admitHold
		}
		if b.TS < r.joinedAt-replaySkew.Milliseconds() {
			return admitSeen
		}
	}
	if mk == nil {
		// The first message we see of a sender: what it sent before is
		// not new to us (we were not sent it, or it is held and older).
		mk = r.marks.get(sender)
		mk.raise(b.Run, b.Seq-1)
	}
	if !mk.accept(b.Run, b.Seq) {
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
	Leases    int
	Unread    int
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
	// CanInvite is true when the password is known to this run of the
	// daemon (it is never saved).
	CanInvite bool
	// Topic is the room's message topic on the broker; PresenceTopic this
	// member's presence topic there (for diagnostics: both are pseudonyms).
	Topic, PresenceTopic string
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
		Muted:      r.muted,
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
	if r.sess != nil {
		in.Connected = r.sess.Connected()
		in.Waits = r.sess.Waits()
	}
	return in
}

// saved returns what the state file keeps of r.
func (r *room) saved() SavedRoom {
	sr, _ := r.savedGen()
	return sr
}

// savedGen is saved with the marksGen of the marks it holds.
func (r *room) savedGen() (SavedRoom, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sr := SavedRoom{ID: r.id, Generation: r.gen, Key: r.key.Bytes(), Muted: r.muted, JoinedAt: r.joinedAt, Marks: maps.Clone(r.savedMarks)}
	if len(r.rec.Salt) > 0 {
		kdf := r.rec.KDF
		sr.Salt, sr.KDF, sr.Verifier = r.rec.Salt, &kdf, r.rec.Verifier
	}
	return sr, r.marksGen
}
