package rooms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// messageCounter is an in-memory broker that counts the packets published
// on message topics.
type messageCounter struct {
	hookedBroker
	packets atomic.Int64
}

func newMessageCounter() *messageCounter {
	b := &messageCounter{}
	b.hookedBroker = hookedBroker{memBroker: newMemBroker(), hook: func(_ context.Context, p Packet, publish func() error) error {
		if strings.HasSuffix(p.Topic, "/m") {
			b.packets.Add(1)
		}
		return publish()
	}}
	return b
}

// newChatPair is Asha and Bilal in one room on an in-memory broker, each listing
// the other.
func newChatPair(t *testing.T, b Transport) (asha, bilal *Service, room ID) {
	t.Helper()
	reg := newMemRegistry()
	asha, _ = newTestService(t, "Asha", reg, b)
	bilal, _ = newTestService(t, "Bilal", reg, b)
	inv, err := asha.Create(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := bilal.Join(t.Context(), inv.Room, inv.Password); err != nil {
		t.Fatal(err)
	}
	for _, svc := range []*Service{asha, bilal} {
		waitFor(t, "both listed", func() bool {
			info, _ := svc.Room(inv.Room)
			return len(info.Members) == 2
		})
		// As once the presences the broker keeps have had time to come
		// (holdWindow after the session opened): batches may go.
		r := svc.room(inv.Room)
		r.mu.Lock()
		r.holdUntil = time.Now()
		r.mu.Unlock()
	}
	return asha, bilal, inv.Room
}

// sendAll sends n messages to room from n goroutines at once, as a
// script or many windows would, and returns their texts. The goroutines
// start together: on a busy machine, goroutines started one after another
// could each come after the one before had been sent (run 12 of the
// loaded suite: 400 in 400 packets).
func sendAll(t *testing.T, svc *Service, room ID, n int, text func(i int) string) map[string]bool {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	want := make(map[string]bool, n)
	start := make(chan struct{})
	for i := range n {
		want[text(i)] = true
		wg.Go(func() {
			<-start
			if _, err := svc.Send(t.Context(), room, text(i)); err != nil {
				errs <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("send: %v", err)
	}
	return want
}

// shownOnce waits until svc shows every text of want in room, and checks
// that each is shown once and nothing else is.
func shownOnce(t *testing.T, svc *Service, room ID, want map[string]bool) {
	t.Helper()
	waitFor(t, "every message shown", func() bool {
		h, _ := svc.History(room)
		return len(h) >= len(want)
	})
	h, _ := svc.History(room)
	seen := map[string]int{}
	for _, m := range h {
		seen[m.Text]++
		if !want[m.Text] {
			t.Errorf("shown %q, never sent", m.Text)
		}
	}
	for text := range want {
		if seen[text] != 1 {
			t.Errorf("%q shown %d times", text, seen[text])
		}
	}
}

// Messages sent at once travel together: fewer packets than messages,
// each message shown once on both sides, and every packet acknowledged.
func TestBurstTravelsTogether(t *testing.T) {
	// The in-memory broker takes a publish at once, where a real one
	// answers after a round trip, during which the messages sent meanwhile
	// gather: the first message of the burst is held on its way until
	// some have.
	var sender atomic.Pointer[room]
	var once sync.Once
	b := newMessageCounter()
	counted := b.hook
	b.hook = func(ctx context.Context, p Packet, publish func() error) error {
		if r := sender.Load(); r != nil && p.Topic == r.topics.messages {
			once.Do(func() { waitFor(t, "messages behind the first", func() bool { return r.out.waiting() >= 10 }) })
		}
		return counted(ctx, p, publish)
	}
	asha, bilal, room := newChatPair(t, b)
	b.packets.Store(0)
	sender.Store(asha.room(room))
	const n = 400
	want := sendAll(t, asha, room, n, func(i int) string { return fmt.Sprintf("message %d", i) })
	shownOnce(t, bilal, room, want)
	shownOnce(t, asha, room, want)
	packets := b.packets.Load()
	t.Logf("%d messages sent at once went out in %d packets", n, packets)
	if packets >= n {
		t.Errorf("%d messages sent at once went out in %d packets: none together", n, packets)
	}
	b.mu.Lock()
	for id, s := range b.sessions {
		if u := s.unacked.Load(); u != 0 {
			t.Errorf("session %s: %d packets not acknowledged", id, u)
		}
	}
	b.mu.Unlock()
}

// The largest messages, sent at once, all go out: a batch stays within
// its bound, and a message alone within MaxPayloadBytes, whatever its
// text escapes to in JSON (a text of 4 KiB of "<>" could not be sent
// before batches came).
func TestBurstOfLargeMessages(t *testing.T) {
	b := newMessageCounter()
	asha, bilal, room := newChatPair(t, b)
	b.packets.Store(0)
	want := sendAll(t, asha, room, 40, func(i int) string {
		// <, > and control characters take six bytes each in JSON: the
		// worst a text can do.
		worst := "<>"
		if i%2 == 1 {
			worst = "\x01\x02"
		}
		return fmt.Sprintf("%02d%s", i, strings.Repeat(worst, MaxTextBytes/2-2))
	})
	shownOnce(t, bilal, room, want)
	t.Logf("40 messages of %d bytes in %d packets", MaxTextBytes, b.packets.Load())
}

// A member whose presence does not say it opens batches (a daemon from
// before them) gets every message alone.
func TestNoBatchesForOlderMembers(t *testing.T) {
	b := newMessageCounter()
	asha, bilal, room := newChatPair(t, b)
	r := asha.room(room)
	carol := fuzzIdentity(t, 3)
	topic := r.topics.presenceOf(carol.Member())
	b.publish(Packet{Topic: topic, Payload: sealPresence(t, r.key, topic, carol, presenceBody("Carol"))})
	waitFor(t, "Carol listed", func() bool {
		info, _ := asha.Room(room)
		return len(info.Members) == 3
	})
	b.packets.Store(0)
	const n = 60
	want := sendAll(t, asha, room, n, func(i int) string { return fmt.Sprintf("m%d", i) })
	shownOnce(t, bilal, room, want)
	if got := b.packets.Load(); got != n {
		t.Errorf("with an older member present, %d messages went out in %d packets, want %d", n, got, n)
	}
}

// A member seen without batches keeps them off while it is a member,
// present or away (its broker session queueing for it), across a restart;
// and until the presences the broker keeps have had time to come after a
// session opens, none go. One who says it opens them again turns them on.
func TestBatchesWaitForOlderPeersAway(t *testing.T) {
	fx := newReplayFixture(t)
	now := time.Now()
	fx.r.holdUntil = now.Add(holdWindow)
	if fx.r.batching(now) {
		t.Error("batches before the kept presences can have come")
	}
	if !fx.r.batching(now.Add(holdWindow)) {
		t.Fatal("no batches in a room of members who open them")
	}
	fx.svc.deliverNow(fx.r, fx.presence(1, 0, false)) // Bilal, an older SunOye
	if fx.r.batching(now.Add(holdWindow)) {
		t.Error("batches with an older member present")
	}
	fx.svc.deliverNow(fx.r, Packet{Topic: fx.r.topics.presenceOf(fx.bilal.Member())}) // his Will: away
	if fx.r.batching(now.Add(holdWindow)) {
		t.Error("batches with an older member away")
	}
	saved := fx.r.saved()
	if len(saved.OlderPeers) != 1 || saved.OlderPeers[0] != fx.bilal.Member() {
		t.Fatalf("saved older peers %v", saved.OlderPeers)
	}
	again := newRoom(fx.r.id, fx.r.gen, fx.r.key, 10)
	for _, m := range saved.OlderPeers {
		again.olderPeers[m] = true
	}
	if again.batching(now.Add(holdWindow)) {
		t.Error("batches after a restart, with an older member away")
	}
	b := presenceBody("Bilal")
	b.Batches = true
	topic := fx.r.topics.presenceOf(fx.bilal.Member())
	fx.svc.deliverNow(fx.r, Packet{Topic: topic, Payload: sealPresence(t, fx.key, topic, fx.bilal, b)})
	if !fx.r.batching(now.Add(holdWindow)) {
		t.Error("no batches once the member says it opens them")
	}
}

// A text that fits only since batches came (past 16 KiB sealed) is
// refused, with a reason, in a room with an older member, who would drop
// it.
func TestLongTextForOlderMember(t *testing.T) {
	b := newMessageCounter()
	asha, bilal, room := newChatPair(t, b)
	text := strings.Repeat("<&>", MaxTextBytes/3)
	r := asha.room(room)
	carol := fuzzIdentity(t, 3)
	topic := r.topics.presenceOf(carol.Member())
	b.publish(Packet{Topic: topic, Payload: sealPresence(t, r.key, topic, carol, presenceBody("Carol"))})
	waitFor(t, "Carol listed", func() bool { in, _ := asha.Room(room); return len(in.Members) == 3 })
	_, err := asha.Send(t.Context(), room, text)
	if !errors.Is(err, ErrTooLong) || !strings.Contains(err.Error(), "older SunOye") {
		t.Fatalf("with an older member: %v", err)
	}
	if _, err := bilal.Send(t.Context(), room, "after"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the next message", func() bool { h, _ := asha.History(room); return len(h) == 1 })
	if h, _ := asha.History(room); h[0].Text != "after" {
		t.Errorf("Asha shows %q", h[0].Text)
	}
	// Among members who open batches it goes: TestBurstOfLargeMessages.
}

// sealBatch seals Bilal's batch of the given message bodies.
func (fx replayFixture) batch(bodies ...body) Packet {
	fx.t.Helper()
	b := body{Type: typeBatch, Name: "Bilal", TS: time.Now().UnixMilli()}
	for _, ib := range bodies {
		raw, err := json.Marshal(ib)
		if err != nil {
			fx.t.Fatal(err)
		}
		b.Msgs = append(b.Msgs, raw)
	}
	p, err := seal(fx.r.aead, fx.r.topics.messages, fx.bilal, b)
	if err != nil {
		fx.t.Fatal(err)
	}
	return Packet{Topic: fx.r.topics.messages, Payload: p}
}

func bilalsMessage(id string, seq uint64) body {
	return body{Type: typeMessage, ID: id, Name: "Bilal", TS: time.Now().UnixMilli(), Text: id, Run: 7, Seq: seq}
}

// A batch is opened once and its messages handled as lone ones: shown in
// order, once, whichever way they come again; the packet acknowledged
// once, after all of them. Batches that are not what a member sends are
// refused whole and counted.
func TestBatchReceived(t *testing.T) {
	fx := newReplayFixture(t)
	var acked atomic.Int32
	first := fx.batch(bilalsMessage("a", 1), bilalsMessage("b", 2), bilalsMessage("c", 3))
	fx.svc.deliver(fx.r, first, func() { acked.Add(1) })
	fx.want("a", "b", "c")
	waitFor(t, "the batch acknowledged", func() bool { return acked.Load() == 1 })

	// The same batch again, a lone copy of one of its messages, and a
	// batch holding one shown and one new message.
	fx.svc.deliverNow(fx.r, first)
	fx.svc.deliverNow(fx.r, fx.message("b", 7, 2, time.Now()))
	fx.svc.deliverNow(fx.r, fx.batch(bilalsMessage("c", 3), bilalsMessage("d", 4)))
	fx.want("a", "b", "c", "d")
	if fx.r.rejected != 0 {
		t.Errorf("%d rejected", fx.r.rejected)
	}

	file := bilalsMessage("f", 9)
	file.Type, file.File = typeFile, &fileMeta{Name: "x.txt", Type: "text/plain", Size: 3, Pieces: 1}
	nested := fx.batch(bilalsMessage("n1", 10), bilalsMessage("n2", 11))
	var nestedBody body
	{
		_, nb, err := open(fx.r.aead, fx.r.topics.messages, nested.Payload)
		if err != nil {
			t.Fatal(err)
		}
		nestedBody = nb
		nestedBody.Msgs = []json.RawMessage{[]byte(`{"type":"msg"}`), []byte(`{}`)}
	}
	noSeq := bilalsMessage("s", 12)
	noSeq.Seq = 0
	many := make([]body, maxBatch+1)
	for i := range many {
		many[i] = bilalsMessage(fmt.Sprintf("many%d", i), uint64(100+i))
	}
	withMsgs := bilalsMessage("w", 13)
	withMsgs.Msgs = []json.RawMessage{[]byte(`{}`)}
	hostile := map[string]Packet{
		"one message":           fx.batch(bilalsMessage("one", 20)),
		"too many":              fx.batch(many...),
		"a file in a batch":     fx.batch(bilalsMessage("g", 21), file),
		"a message without seq": fx.batch(bilalsMessage("h", 22), noSeq),
		"a presence in a batch": fx.batch(bilalsMessage("i", 23), presenceBody("Bilal")),
		"a batch in a batch":    fx.batch(bilalsMessage("j", 24), nestedBody),
	}
	hostile["messages in a message"] = func() Packet {
		p, err := seal(fx.r.aead, fx.r.topics.messages, fx.bilal, withMsgs)
		if err != nil {
			t.Fatal(err)
		}
		return Packet{Topic: fx.r.topics.messages, Payload: p}
	}()
	for what, p := range hostile {
		before := fx.r.rejected
		fx.svc.deliverNow(fx.r, p)
		if fx.r.rejected != before+1 {
			t.Errorf("%s: not rejected", what)
		}
	}
	fx.want("a", "b", "c", "d")
}

// The outbox: one caller seals at a time, the leader at the head of what
// it takes; a message still waiting can be taken back, one being sealed
// cannot.
func TestOutbox(t *testing.T) {
	var b outbox
	msg := func(text string) *outgoing {
		return &outgoing{m: Message{Name: "Asha", Text: text}, ready: make(chan struct{}, 1)}
	}
	a, c, d := msg("a"), msg("c"), msg("d")
	if !b.add(a) {
		t.Fatal("the first message does not lead")
	}
	if b.add(c) || b.add(d) {
		t.Fatal("a second leader")
	}
	if !b.withdraw(d) {
		t.Error("a waiting message cannot be taken back")
	}
	if got := b.take("Asha"); len(got) != 2 || got[0] != a || got[1] != c {
		t.Errorf("took %d", len(got))
	}
	if b.withdraw(c) {
		t.Error("a message being sealed was taken back")
	}
	b.handOver()
	if b.sealing {
		t.Error("still sealing with nothing left")
	}
	e, f := msg("e"), msg("f")
	b.add(e)
	b.add(f)
	b.take("Asha")
	g := msg("g")
	b.add(g)
	b.handOver()
	select {
	case <-g.ready:
	default:
		t.Fatal("the next message was not asked to seal")
	}
	if g.state != leading || b.withdraw(g) {
		t.Error("the next sealer could be taken back")
	}

	// Payloads on their way: the sealing passes on at once while fewer
	// than maxOnTheWay travel, else when one arrives.
	var w outbox
	h, i, j := msg("h"), msg("i"), msg("j")
	w.add(h)
	w.take("Asha")
	w.add(i)
	w.sealed() // h's payload: one on its way
	select {
	case <-i.ready:
	default:
		t.Fatal("with one payload on its way, the sealing did not pass on")
	}
	w.take("Asha")
	w.add(j)
	w.sealed() // i's: two
	select {
	case <-j.ready:
		t.Fatal("with two payloads on their way, the sealing passed on")
	default:
	}
	w.arrived()
	select {
	case <-j.ready:
	default:
		t.Fatal("a payload arrived, and the sealing did not pass on")
	}
}

// jsonLen bounds what encoding/json writes for any text.
func TestJSONLen(t *testing.T) {
	pieces := []string{"a", "é", "😀", "<", ">", "&", "\"", "\\", "\n", "\x01", "\u2028", "\u2029", " ", "\x7f"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		var sb strings.Builder
		for range rng.IntN(40) {
			sb.WriteString(pieces[rng.IntN(len(pieces))])
		}
		s := sb.String()
		js, _ := json.Marshal(s)
		if got := jsonLen(s); got < len(js) {
			t.Fatalf("jsonLen(%q) = %d, json writes %d", s, got, len(js))
		}
	}
}

// A send whose caller gives up while its message still waits in the
// outbox (behind a sealer that never ends) is not sent at all, and says so.
func TestSendGivenUpBeforeSealed(t *testing.T) {
	r := &room{id: "123456"}
	r.out.add(&outgoing{ready: make(chan struct{}, 1)}) // the sealer
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := (&Service{}).sendTogether(ctx, r, Message{Text: "x"}, 1)
	if err == nil || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "not sent") {
		t.Errorf("err = %v", err)
	}
}
