package rooms

import (
	"crypto/cipher"
	"sync"
	"sync/atomic"
)

// seenLimit bounds de-duplication memory per room (ids of 32 bytes: about
// 300 KiB per room at most).
const seenLimit = 8192

// room is a joined room's runtime state.
type room struct {
	id     ID
	gen    int64
	key    Key
	aead   cipher.AEAD
	topics topics

	mu       sync.Mutex
	sess     Session
	password string // known only if given in this run; never saved
	hist     *history
	seen     *seenSet
	members  map[MemberID]string // live presence: member → display name
	tags     map[string]MemberID // member tags seen on presence topics
	unread   int
	muted    bool
	leases   int    // live leases in the registry, as of the last heartbeat
	rejected uint64 // payloads that did not open or were malformed
	// seenUntil is SavedRoom.SeenUntil of the run that restored the room;
	// it is read without the lock: set before the session opens.
	seenUntil int64

	// announcing is set while a reannounce goroutine runs; announceWanted
	// asks it for one more announcement (see Service.reannounce).
	announcing, announceWanted atomic.Bool
	// announceMu orders announcements with detach; leaving, set by detach
	// under it, ends them (see Service.announce).
	announceMu sync.Mutex
	leaving    bool
}

func newRoom(id ID, gen int64, key Key, historyLimit int) *room {
	return &room{
		id:      id,
		gen:     gen,
		key:     key,
		aead:    newAEAD(key),
		topics:  topicsFor(key),
		hist:    newHistory(historyLimit),
		seen:    newSeenSet(seenLimit),
		members: make(map[MemberID]string),
		tags:    make(map[string]MemberID),
		leases:  1,
	}
}

func (r *room) session() Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sess
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
	// Rejected counts payloads on the room's topics that did not open
	// with the room key or were malformed; Dropped, packets dropped because
	// the daemon fell behind.
	Rejected uint64
	Dropped  uint64
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
		Rejected:   r.rejected,
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
		in.Dropped = r.sess.Dropped()
	}
	return in
}
