package rooms

import (
	"strings"
	"testing"
	"time"
)

// typing seals a typing signal of id's, named name, stamped at.
func (fx replayFixture) typing(id Identity, name string, at time.Time) Packet {
	fx.t.Helper()
	p, err := seal(fx.r.aead, fx.r.topics.typing, id, body{Type: typeTyping, Name: name, TS: at.UnixMilli()})
	if err != nil {
		fx.t.Fatal(err)
	}
	return Packet{Topic: fx.r.topics.typing, Payload: p}
}

// typists drains events and returns who was said to be typing.
func typists(events <-chan Event) []string {
	var out []string
	for {
		select {
		case e := <-events:
			if e.Kind == EventTyping {
				out = append(out, e.Member.Name+"/"+string(e.Member.ID))
			}
		default:
			return out
		}
	}
}

// A typing signal becomes an event only from a present member, fresh,
// at most one per TypingGap; it is acknowledged at once whatever becomes
// of it, never kept, never counted unread; a forged, retained or
// misplaced one is counted as rejected.
func TestTypingSignals(t *testing.T) {
	fx := newReplayFixture(t)
	events, cancel := fx.svc.Subscribe(4096)
	defer cancel()
	now := time.Now()
	deliver := func(p Packet) {
		t.Helper()
		acks := 0
		fx.svc.deliver(fx.r, p, func() { acks++ })
		if acks != 1 {
			t.Fatalf("a typing payload was acknowledged %d times, want once", acks)
		}
	}

	// Not (yet) present: nothing.
	deliver(fx.typing(fx.bilal, "Bilal", now))
	if got := typists(events); len(got) != 0 {
		t.Errorf("a member who is not present typed: %q", got)
	}
	// Present under the name his presence gives; the name in the signal
	// is not taken.
	deliver(fx.presence(1, 0, false))
	deliver(fx.typing(fx.bilal, "Asha", time.Now()))
	if got, want := typists(events), "Bilal/"+string(fx.bilal.Member()); len(got) != 1 || got[0] != want {
		t.Fatalf("typing events %q, want [%s]", got, want)
	}
	// A flood within TypingGap: nothing more.
	for range 500 {
		deliver(fx.typing(fx.bilal, "Bilal", time.Now()))
	}
	if got := typists(events); len(got) != 0 {
		t.Errorf("%d more typing events within %v of the first", len(got), TypingGap)
	}
	// After the gap, one more.
	fx.r.mu.Lock()
	fx.r.typingTaken[fx.bilal.Member()] = time.Now().Add(-TypingGap)
	fx.r.mu.Unlock()
	deliver(fx.typing(fx.bilal, "Bilal", time.Now()))
	if got := typists(events); len(got) != 1 {
		t.Errorf("after the gap: %d typing events, want 1", len(got))
	}
	fx.r.mu.Lock()
	fx.r.typingTaken[fx.bilal.Member()] = time.Now().Add(-TypingGap)
	fx.r.mu.Unlock()

	// Stale (queued while we were away, or replayed) and from the future:
	// dropped quietly.
	deliver(fx.typing(fx.bilal, "Bilal", time.Now().Add(-TypingStale-time.Second)))
	deliver(fx.typing(fx.bilal, "Bilal", time.Now().Add(TypingStale+time.Second)))
	if got := typists(events); len(got) != 0 {
		t.Errorf("stale typing signals shown: %q", got)
	}
	rejectedBefore := fx.r.info(fx.svc.me).Rejected

	// Retained, a message on the typing topic, a typing signal on the
	// message topic, one sealed for another topic: rejected.
	retained := fx.typing(fx.bilal, "Bilal", time.Now())
	retained.Retained = true
	deliver(retained)
	msg, err := seal(fx.r.aead, fx.r.topics.typing, fx.bilal, body{Type: typeMessage, ID: "m1", Name: "Bilal", TS: time.Now().UnixMilli(), Text: "hi", Run: 1, Seq: 1})
	if err != nil {
		t.Fatal(err)
	}
	deliver(Packet{Topic: fx.r.topics.typing, Payload: msg})
	onMessages := fx.typing(fx.bilal, "Bilal", time.Now())
	onMessages.Topic = fx.r.topics.messages
	deliver(onMessages)
	withText, err := seal(fx.r.aead, fx.r.topics.typing, fx.bilal, body{Type: typeTyping, Name: "Bilal", TS: time.Now().UnixMilli(), Text: "sneaked in"})
	if err != nil {
		t.Fatal(err)
	}
	deliver(Packet{Topic: fx.r.topics.typing, Payload: withText})
	if got := fx.r.info(fx.svc.me).Rejected - rejectedBefore; got != 4 {
		t.Errorf("%d of 4 bad typing payloads counted as rejected", got)
	}
	if got := typists(events); len(got) != 0 {
		t.Errorf("bad typing payloads shown: %q", got)
	}
	in := fx.r.info(fx.svc.me)
	if h := fx.r.history(); len(h) != 0 || in.Unread != 0 || in.Replayed != 0 {
		t.Errorf("typing left a trace: history %d, unread %d, replayed %d", len(h), in.Unread, in.Replayed)
	}
	// Our own signal, echoed: nothing.
	deliver(fx.typing(fx.svc.cfg.Identity, "Asha", time.Now()))
	if got := typists(events); len(got) != 0 {
		t.Errorf("our own typing shown: %q", got)
	}
}

// Typing publishes at most one signal per TypingEvery.
func TestTypingIsRateLimitedOnSend(t *testing.T) {
	fx := newReplayFixture(t)
	b := newMemBroker()
	sess, err := b.Open(t.Context(), SessionConfig{ClientID: "asha", Filters: []string{fx.r.topics.filter}, Deliver: func(Packet, func()) {}})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan Packet, 100)
	watch, err := b.Open(t.Context(), SessionConfig{ClientID: "watch", Filters: []string{fx.r.topics.filter}, Deliver: func(p Packet, handled func()) { got <- p; handled() }})
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close(t.Context(), true)
	fx.r.setSession(sess)
	fx.svc.mu.Lock()
	fx.svc.rooms[fx.r.id] = fx.r
	fx.svc.mu.Unlock()
	for range 50 {
		if err := fx.svc.Typing(t.Context(), fx.r.id); err != nil {
			t.Fatal(err)
		}
	}
	// A marker after them, on the same session, tells when all are in.
	if err := sess.Publish(t.Context(), Packet{Topic: fx.r.topics.filter[:len(fx.r.topics.filter)-1] + "marker"}); err != nil {
		t.Fatal(err)
	}
	var seen []Packet
	for p := range got {
		if strings.HasSuffix(p.Topic, "/marker") {
			break
		}
		seen = append(seen, p)
	}
	if len(seen) != 1 || seen[0].Topic != fx.r.topics.typing {
		t.Fatalf("50 calls published %d packets, want 1 on the typing topic", len(seen))
	}
	sender, b2, err := open(fx.r.aead, fx.r.topics.typing, seen[0].Payload)
	if err != nil || sender != fx.svc.me || b2.Type != typeTyping || b2.Text != "" || b2.ID != "" {
		t.Errorf("the typing signal opens as %v %+v %v", sender, b2, err)
	}
	if err := fx.svc.Typing(t.Context(), "123456789"); err == nil {
		t.Error("typing in a room not joined: no error")
	}
}

// However many identities a hostile member brings into the member list,
// at most maxTypers are shown typing at once.
func TestTypingBoundsTypers(t *testing.T) {
	fx := newReplayFixture(t)
	events, cancel := fx.svc.Subscribe(4096)
	defer cancel()
	for i := range 3 * maxTypers {
		id := fuzzIdentity(t, byte(10+i))
		topic := fx.r.topics.presenceOf(id.Member())
		fx.svc.deliverNow(fx.r, Packet{Topic: topic, Payload: sealPresence(t, fx.key, topic, id, presenceBody("Sock"))})
		fx.svc.deliverNow(fx.r, fx.typing(id, "Sock", time.Now()))
	}
	if got := typists(events); len(got) != maxTypers {
		t.Errorf("%d members shown typing, want %d", len(got), maxTypers)
	}
}

// Whatever arrives on the typing topic, deliver acknowledges it once,
// never panics, and nothing reaches the history or the unread count.
func FuzzTyping(f *testing.F) {
	key := testKey(f, "tide-amber-4821")
	bilal := fuzzIdentity(f, 2)
	typingTopic := topicsFor(key).typing
	for _, b := range []body{
		{Type: typeTyping, Name: "Bilal", TS: time.Now().UnixMilli()},
		{Type: typeTyping, Name: "Bilal", TS: 1},
		{Type: typeTyping, Name: "Bilal", TS: time.Now().UnixMilli(), Text: "x"},
		{Type: typeMessage, ID: "m1", Name: "Bilal", TS: time.Now().UnixMilli(), Text: "hi", Run: 1, Seq: 1},
		presenceBody("Bilal"),
	} {
		f.Add(sealPresence(f, key, typingTopic, bilal, b), false)
	}
	f.Add([]byte{}, true)
	f.Fuzz(func(t *testing.T, payload []byte, retained bool) {
		fx := newPresenceFixture(t, fuzzIdentity(t, 1), key)
		fx.r.members[bilal.Member()] = "Bilal"
		acks := 0
		fx.svc.deliver(fx.r, Packet{Topic: fx.r.topics.typing, Payload: payload, Retained: retained}, func() { acks++ })
		if acks != 1 {
			t.Fatalf("acknowledged %d times", acks)
		}
		if len(fx.r.hist.list()) != 0 || fx.r.unread != 0 || fx.r.replayed != 0 {
			t.Fatalf("a typing payload left a trace: history %d, unread %d", len(fx.r.hist.list()), fx.r.unread)
		}
	})
}
