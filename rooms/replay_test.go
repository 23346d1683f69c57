package rooms

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// replayFixture is Asha's room with Bilal as another member; send seals a
// message of Bilal's and delivers it to Asha.
type replayFixture struct {
	presenceFixture
	t     *testing.T
	bilal Identity
	key   Key
}

func newReplayFixture(t *testing.T) replayFixture {
	key := testKey(t, "tide-amber-4821")
	asha := fuzzIdentity(t, 1)
	return replayFixture{presenceFixture: newPresenceFixture(t, asha, key), t: t, bilal: fuzzIdentity(t, 2), key: key}
}

// message seals Bilal's message id, number seq of run, stamped at.
func (fx replayFixture) message(id string, run, seq uint64, at time.Time) Packet {
	fx.t.Helper()
	p, err := seal(fx.r.aead, fx.r.topics.messages, fx.bilal, body{Type: typeMessage, ID: id, Name: "Bilal", TS: at.UnixMilli(), Text: id, Run: run, Seq: seq})
	if err != nil {
		fx.t.Fatal(err)
	}
	return Packet{Topic: fx.r.topics.messages, Payload: p}
}

// presence seals Bilal's presence saying he had sent seq messages in run.
func (fx replayFixture) presence(run, seq uint64, retained bool) Packet {
	fx.t.Helper()
	topic := fx.r.topics.presenceOf(fx.bilal.Member())
	b := presenceBody("Bilal")
	b.Run, b.Seq = run, seq
	return Packet{Topic: topic, Payload: sealPresence(fx.t, fx.key, topic, fx.bilal, b), Retained: retained}
}

func (fx replayFixture) shown() []string {
	waitFor(fx.t, "the messages admitted to be shown", func() bool {
		fx.r.mu.Lock()
		defer fx.r.mu.Unlock()
		return !fx.r.showing
	})
	var got []string
	for _, m := range fx.r.history() {
		got = append(got, m.ID)
	}
	return got
}

func (fx replayFixture) want(want ...string) {
	fx.t.Helper()
	if got := fx.shown(); !slices.Equal(got, want) {
		fx.t.Errorf("shown %q, want %q", got, want)
	}
}

// A payload recorded on the broker and published again is shown once,
// however often it comes, and counted as replayed, not as rejected.
func TestReplayWithinRunDropped(t *testing.T) {
	fx := newReplayFixture(t)
	now := time.Now()
	first := fx.message("a", 7, 1, now)
	fx.svc.deliverNow(fx.r, first)
	fx.svc.deliverNow(fx.r, fx.message("b", 7, 2, now))
	// The same payload again, and the same place in the sequence under
	// another message id (a member replaying with a fresh id cannot: the
	// id is signed, but the broker can re-send the recorded bytes).
	fx.svc.deliverNow(fx.r, first)
	fx.svc.deliverNow(fx.r, fx.message("a-again", 7, 1, now))
	fx.want("a", "b")
	if fx.r.replayed != 1 || fx.r.rejected != 0 {
		t.Errorf("replayed %d, rejected %d; want 1 and 0", fx.r.replayed, fx.r.rejected)
	}
}

// After a restart (clean or a crash: the marks are saved before a message
// is shown) the marks come back from the state file: a message shown
// before is not shown again, one the daemon missed while it was down is.
func TestReplayAfterRestartDropped(t *testing.T) {
	fx := newReplayFixture(t)
	now := time.Now()
	for i, id := range []string{"one", "two", "three"} {
		fx.svc.deliverNow(fx.r, fx.message(id, 7, uint64(i+1), now))
	}
	fx.want("one", "two", "three")
	saved := fx.r.saved()

	again := newReplayFixture(t)
	again.r.marks = marksFrom(saved.Marks)
	again.r.joinedAt = saved.JoinedAt
	again.svc.deliverNow(again.r, fx.message("two", 7, 2, now))      // replayed
	again.svc.deliverNow(again.r, fx.message("missed", 7, 4, now))   // sent while down
	again.svc.deliverNow(again.r, fx.message("old-run", 6, 90, now)) // an earlier run of Bilal's
	again.svc.deliverNow(again.r, fx.message("restarted", 8, 1, now))
	again.want("missed", "restarted")
}

// A member who joins after a message was sent is never shown it: the
// message claims to be from before the join, so it waits for its sender's
// presence, which says how far the sender's messages had gone.
func TestReplayBeforeJoinDropped(t *testing.T) {
	fx := newReplayFixture(t)
	now := time.Now()
	fx.r.joinedAt = now.UnixMilli()
	fx.r.holdUntil = now.Add(time.Hour)
	// Recorded a few seconds before Asha joined, replayed after: within
	// any clock skew, so only Bilal's sequence can tell.
	fx.svc.deliverNow(fx.r, fx.message("recorded", 7, 3, now.Add(-5*time.Second)))
	fx.want()
	// The broker's retained copy of his presence (possibly older than
	// messages queued for us) decides nothing.
	fx.svc.deliverNow(fx.r, fx.presence(7, 1, true))
	fx.want()
	// His live answer to our join does: he had sent 3.
	fx.svc.deliverNow(fx.r, fx.presence(7, 3, false))
	fx.svc.deliverNow(fx.r, fx.message("new", 7, 4, now))
	fx.want("new")
	if len(fx.r.held) != 0 {
		t.Errorf("%d messages still held", len(fx.r.held))
	}
}

// A message held back for a sender whose presence never comes is decided
// by its stamp when the hold ends: within the clock skew it is shown,
// older it is not.
func TestReplayHoldEnds(t *testing.T) {
	fx := newReplayFixture(t)
	now := time.Now()
	fx.r.joinedAt = now.UnixMilli()
	fx.r.holdUntil = now.Add(time.Hour)
	carol := fuzzIdentity(t, 3)
	old, err := seal(fx.r.aead, fx.r.topics.messages, carol, body{Type: typeMessage, ID: "ancient", Name: "Carol", TS: now.Add(-time.Hour).UnixMilli(), Text: "x", Run: 1, Seq: 1})
	if err != nil {
		t.Fatal(err)
	}
	fx.svc.deliverNow(fx.r, Packet{Topic: fx.r.topics.messages, Payload: old})
	fx.svc.deliverNow(fx.r, fx.message("skewed", 7, 1, now.Add(-time.Second)))
	fx.want()
	fx.r.holdUntil = now
	fx.svc.releaseHeld(fx.r, "")
	fx.want("skewed")
}

// A message topic never carries retained messages: a retained payload,
// even a genuine one, would be shown to everyone who joins later.
func TestRetainedMessageRejected(t *testing.T) {
	fx := newReplayFixture(t)
	p := fx.message("retained", 7, 1, time.Now())
	p.Retained = true
	fx.svc.deliverNow(fx.r, p)
	fx.want()
	if fx.r.rejected != 1 {
		t.Errorf("rejected %d, want 1", fx.r.rejected)
	}
}

// Messages that a clustered broker delivers a little out of order are all
// shown, once.
func TestReorderedShownOnce(t *testing.T) {
	fx := newReplayFixture(t)
	now := time.Now()
	for _, seq := range []uint64{1, 3, 2, 5, 4, 3, 1} {
		fx.svc.deliverNow(fx.r, fx.message(string(rune('a'+seq-1))+"x", 7, seq, now))
	}
	fx.want("ax", "cx", "bx", "ex", "dx")
}

func TestMark(t *testing.T) {
	var m Mark
	steps := []struct {
		run, seq uint64
		want     bool
	}{
		{5, 1, true}, {5, 1, false}, {5, 70, true}, {5, 2, true}, {5, 2, false},
		{5, 2000, true}, {5, 1500, true}, {5, 1500, false}, {5, 3, false}, // 3 is beyond the window behind 2000
		{5, 1999, true}, {5, 1999, false}, {4, 3000, false}, {6, 1, true}, {5, 2001, true}, {5, 2001, false},
	}
	for _, s := range steps {
		if got := m.accept(s.run, s.seq); got != s.want {
			t.Errorf("accept(%d, %d) = %v, want %v", s.run, s.seq, got, s.want)
		}
	}
	m.forget(6, 1)
	if !m.accept(6, 1) {
		t.Error("a forgotten message is not accepted again")
	}
	// The run before the newest still takes its late messages, once;
	// older runs none.
	if !m.accept(5, 2002) || m.accept(5, 2002) || m.accept(4, 1) {
		t.Errorf("previous run's messages: %+v", m)
	}
	if !m.Covers(5, 2002) || m.Covers(5, 2003) || !m.Covers(4, 9) || m.Covers(6, 2) {
		t.Errorf("Covers: %+v", m)
	}
}

// A window shifted by any amount keeps exactly the bits that stay in it.
func TestBitWindowShift(t *testing.T) {
	for _, d := range []uint64{0, 1, 63, 64, 65, 130, 1023, 1024, 5000} {
		var w bitWindow
		for _, i := range []uint64{0, 1, 62, 63, 64, 200, 1000, 1023} {
			w.set(i)
		}
		w.shift(d)
		for i := range uint64(markWindow) {
			want := i >= d && slices.Contains([]uint64{0, 1, 62, 63, 64, 200, 1000, 1023}, i-d)
			if w.has(i) != want {
				t.Fatalf("shift %d: bit %d is %v, want %v", d, i, w.has(i), want)
			}
		}
	}
}

// A presence with no live session behind it (planted by a member, or left
// by a broker that lost a Will) leaves the member list when it is not
// renewed; the daemon itself never does.
func TestPresenceExpires(t *testing.T) {
	fx := newReplayFixture(t)
	fx.svc.deliverNow(fx.r, fx.presence(7, 0, true))
	if len(fx.r.members) != 2 {
		t.Fatalf("members %v, want Asha and Bilal", fx.r.members)
	}
	ttl := time.Minute
	if fx.r.expire(fx.svc.me, time.Now().Add(ttl/2), ttl) {
		t.Error("a fresh presence expired")
	}
	if !fx.r.expire(fx.svc.me, time.Now().Add(2*ttl), ttl) {
		t.Error("a stale presence did not expire")
	}
	if _, ok := fx.r.members[fx.svc.me]; !ok || len(fx.r.members) != 1 {
		t.Errorf("members %v, want Asha alone", fx.r.members)
	}
}

// A recording replayed to a member who just joined, and held back, is not
// shown when a newer message of its sender arrives before the sender's
// presence does: the presence decides it.
func TestReplayHeldThenNewer(t *testing.T) {
	fx := newReplayFixture(t)
	now := time.Now()
	fx.r.joinedAt = now.UnixMilli()
	fx.r.holdUntil = now.Add(time.Hour)
	fx.svc.deliverNow(fx.r, fx.message("recorded", 7, 2, now.Add(-time.Second)))
	fx.svc.deliverNow(fx.r, fx.message("new", 7, 3, now))
	fx.svc.deliverNow(fx.r, fx.presence(7, 3, false))
	fx.want("new")
}

// The first messages of a sender may come out of order (a sender's
// concurrent sends, a clustered broker): none is lost for it.
func TestFirstContactOutOfOrder(t *testing.T) {
	fx := newReplayFixture(t)
	now := time.Now()
	fx.r.joinedAt = now.Add(-time.Minute).UnixMilli()
	for _, seq := range []uint64{5, 4, 6, 2, 3} {
		fx.svc.deliverNow(fx.r, fx.message(fmt.Sprint("m", seq), 7, seq, now))
	}
	fx.want("m5", "m4", "m6", "m2", "m3")
}
