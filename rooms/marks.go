package rooms

import (
	"maps"
	"slices"
	"time"
)

// Replays. Anyone on the broker can record a payload and publish it again;
// it opens and verifies, since it is genuine. What tells it apart is where
// it stands in its sender's sequence: every message carries the sender's
// run (a number that grows at every start of the sender's daemon) and a
// sequence number that counts the sender's messages in the room during
// that run. A receiver keeps, per sender, a Mark of how far it has shown
// that sender's messages, writes it to the state file before it shows
// them (so a crash cannot forget it), and shows a message only if its
// place is new. A member who joins knows no marks yet: a message stamped
// before the join is held until its sender's live presence (which members
// send again when someone joins, see announce) says where the sender's
// sequence stood (see room.admit).

// markWindow is how far behind a sender's newest message a late one may
// still arrive and be shown: a sender's concurrent sends, one of them
// held up on a busy machine while the others go out, and clustered
// brokers reorder.
const markWindow = markWords * 64

const markWords = 16

// Mark is how far one sender's messages in a room have been shown: its
// newest run and sequence number, and which of the markWindow sequence
// numbers before that have been shown too.
type Mark struct {
	Run uint64 `json:"run"`
	Seq uint64 `json:"seq"`
	// Window has bit i set if message Seq-i of the run was shown.
	Window bitWindow `json:"window"`
	// Prev are the same of the sender's runs before Run, newest first, at
	// most maxPrevRuns: their messages may still come after a newer run's
	// first (a member's own, sent just before a crash and not yet
	// acknowledged, comes again after the restarts' first sends). Earlier
	// runs than those are over.
	Prev []Mark `json:"prev,omitempty"`
}

// begin starts run as the sender's newest, with nothing of it shown yet,
// and reports whether it was not already.
func (m *Mark) begin(run uint64) bool {
	if run <= m.Run {
		return false
	}
	prev := m.Prev
	if m.Run != 0 {
		p := *m
		p.Prev = nil
		prev = append([]Mark{p}, prev...)
	}
	*m = Mark{Run: run, Prev: prev[:min(len(prev), maxPrevRuns)]}
	return true
}

// maxPrevRuns is how many runs before the newest a Mark keeps.
const maxPrevRuns = 4

// prev returns the mark of an earlier run, if kept.
func (m *Mark) prev(run uint64) *Mark {
	for i := range m.Prev {
		if m.Prev[i].Run == run {
			return &m.Prev[i]
		}
	}
	return nil
}

// clone returns a copy that shares nothing with m.
func (m Mark) clone() Mark {
	m.Prev = slices.Clone(m.Prev)
	return m
}

// bitWindow is markWindow bits; bit i is bit i%64 of word i/64.
type bitWindow [markWords]uint64

func (w *bitWindow) has(i uint64) bool { return w[i/64]&(1<<(i%64)) != 0 }
func (w *bitWindow) set(i uint64)      { w[i/64] |= 1 << (i % 64) }
func (w *bitWindow) unset(i uint64)    { w[i/64] &^= 1 << (i % 64) }

// shift moves every bit d places up (bit i becomes bit i+d); bits past
// the window are forgotten.
func (w *bitWindow) shift(d uint64) {
	if d >= markWindow {
		*w = bitWindow{}
		return
	}
	words, bits := int(d/64), d%64
	for i := markWords - 1; i >= 0; i-- {
		var v uint64
		if j := i - words; j >= 0 {
			v = w[j] << bits
			if bits > 0 && j > 0 {
				v |= w[j-1] >> (64 - bits)
			}
		}
		w[i] = v
	}
}

// accept records message (run, seq) as shown and reports whether it is
// new: not shown before, and not from an earlier run.
func (m *Mark) accept(run, seq uint64) bool {
	switch {
	case run < m.Run:
		if p := m.prev(run); p != nil {
			return p.accept(run, seq)
		}
		return false
	case run > m.Run:
		m.begin(run)
		m.Seq = seq
		m.Window.set(0)
		return true
	case seq > m.Seq:
		m.Window.shift(seq - m.Seq)
		m.Window.set(0)
		m.Seq = seq
		return true
	}
	d := m.Seq - seq
	if d >= markWindow || m.Window.has(d) {
		return false
	}
	m.Window.set(d)
	return true
}

// forget takes message (run, seq) back, so that a later copy is shown:
// for our own message whose publication was not confirmed (its echo, if
// it goes out after all, must be shown).
func (m *Mark) forget(run, seq uint64) {
	if p := m.prev(run); p != nil {
		p.forget(run, seq)
		return
	}
	if run == m.Run && seq <= m.Seq && m.Seq-seq < markWindow {
		m.Window.unset(m.Seq - seq)
	}
}

// maxMarks bounds the senders remembered per room: a hostile member could
// sign with a new identity for every message. The oldest runs go first.
const maxMarks = 1024

// marks are a room's Marks, bounded.
type marks map[MemberID]*Mark

func (ms marks) get(m MemberID) *Mark {
	mk := ms[m]
	if mk == nil {
		if len(ms) >= maxMarks {
			ms.evict()
		}
		mk = &Mark{}
		ms[m] = mk
	}
	return mk
}

// evict forgets the sender with the oldest run.
func (ms marks) evict() {
	var oldest MemberID
	first := true
	for m, mk := range ms {
		if first || mk.Run < ms[oldest].Run {
			oldest, first = m, false
		}
	}
	delete(ms, oldest)
}

// snapshot returns a copy for the state file.
func (ms marks) snapshot() map[MemberID]Mark {
	out := make(map[MemberID]Mark, len(ms))
	for m, mk := range ms {
		out[m] = mk.clone()
	}
	return out
}

func marksFrom(saved map[MemberID]Mark) marks {
	ms := make(marks, len(saved))
	for m, mk := range maps.All(saved) {
		c := mk.clone() // the saved ones stay as they are
		ms[m] = &c
	}
	return ms
}

// replaySkew is how much earlier than our joining a message of a sender
// we know nothing of may be stamped and still be shown: the sender's clock
// may be a little behind ours.
const replaySkew = 2 * time.Minute

// holdWindow is how long after joining a message that claims to be from
// before the join is held back, waiting for its sender's presence to say
// whether it is new.
const holdWindow = 3 * time.Second

// maxHeld bounds the messages held back per room.
const maxHeld = 256

// Covers reports whether the mark counts message (run, seq) as shown (or
// as too old to show): of an earlier run, further behind than the window,
// or marked in it.
func (m Mark) Covers(run, seq uint64) bool {
	if p := m.prev(run); p != nil {
		return p.Covers(run, seq)
	}
	if run != m.Run {
		return run < m.Run
	}
	if seq > m.Seq {
		return false
	}
	d := m.Seq - seq
	return d >= markWindow || m.Window.has(d)
}
