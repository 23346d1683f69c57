package rooms

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// Our own messages across runs: the echo of a message that a stop or a
// crash cut short comes to a later run, which must show it once. (Found
// by TestChaos, in which a member's daemon is frozen, stopped, killed and
// started again many times while it sends.)

// ownFixture is Asha alone in a room on the in-memory broker; her state
// file is st from the moment the room is joined.
type ownFixture struct {
	t   *testing.T
	svc *Service
	r   *room
	inv Invite
	st  *blockingState
}

func newOwnFixture(t *testing.T, b Transport) ownFixture {
	t.Helper()
	svc, _ := newTestService(t, "Asha", newMemRegistry(), b)
	inv, err := svc.Create(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	st := &blockingState{writes: make(chan []SavedRoom, 64), release: make(chan struct{})}
	svc.store = st
	return ownFixture{t: t, svc: svc, r: svc.room(inv.Room), inv: inv, st: st}
}

// packet seals a message of from's as it comes from the broker.
func (fx ownFixture) packet(from Identity, id string, run, seq uint64) Packet {
	fx.t.Helper()
	p, err := seal(fx.r.aead, fx.r.topics.messages, from, body{
		Type: typeMessage, ID: id, Name: "x", TS: time.Now().UnixMilli(), Text: id, Run: run, Seq: seq,
	})
	if err != nil {
		fx.t.Fatal(err)
	}
	return Packet{Topic: fx.r.topics.messages, Payload: p}
}

func (fx ownFixture) shows(id string) bool {
	h, _ := fx.svc.History(fx.inv.Room)
	return slices.ContainsFunc(h, func(m Message) bool { return m.ID == id })
}

// The echo of our message from an earlier run, admitted but not shown yet
// (the room's shower is busy writing an earlier batch), is not in the
// marks that a write made meanwhile takes to disk — our next send's first
// write, which records the new run, say. If it were, a stop (or a crash)
// before the echo shows would leave it marked on disk, unacknowledged:
// the broker sends it again to the next run, which drops it as a replay,
// and we never see a message that everyone else saw.
func TestOwnEchoNotSavedBeforeShown(t *testing.T) {
	t.Parallel()
	fx := newOwnFixture(t, newMemBroker())
	run := fx.svc.cfg.Run
	// As the run before left it: it recorded itself before its first
	// message went out (see TestNoSendBeforeRunSaved).
	fx.r.mu.Lock()
	fx.r.marks.get(fx.svc.me).begin(run - 1)
	fx.r.savedMarks[fx.svc.me] = Mark{Run: run - 1}
	fx.r.mu.Unlock()
	acked := make(chan string, 4)
	// The shower busy: another member's message, its write held.
	fx.svc.deliverBehind(fx.r, fx.packet(fuzzIdentity(t, 2), "bilal-1", 7, 1), func() { acked <- "bilal-1" })
	<-fx.st.writes
	// Our echo of the run before, cut short by a stop: admitted, waiting.
	fx.svc.deliverBehind(fx.r, fx.packet(fx.svc.cfg.Identity, "own-earlier", run-1, 1), func() { acked <- "own-earlier" })
	waitAdmitted(t, fx.r, "own-earlier")

	// Our first send of this run records the run on disk before it goes out.
	sent := make(chan error, 1)
	go func() {
		_, err := fx.svc.Send(context.Background(), fx.inv.Room, "own-now")
		sent <- err
	}()
	waitFor(t, "the send to ask for a write", func() bool { return fx.svc.saveWanted.Load() >= 2 })
	// Whatever is written now — that send's write, Shutdown's last one —
	// takes these marks.
	if mk := fx.r.saved().Marks[fx.svc.me]; mk.Covers(run-1, 1) {
		t.Errorf("the marks a write takes now (own mark %+v) cover our earlier run's echo, which was not shown: after a stop now, the next run would drop it as a replay", mk)
	}
	close(fx.st.release)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the echo shown", func() bool { return fx.shows("own-earlier") })
	got := map[string]bool{<-acked: true, <-acked: true}
	if !got["bilal-1"] || !got["own-earlier"] {
		t.Errorf("acknowledged %v", got)
	}
	// It is on disk now, and the send's message too.
	mk := fx.r.saved().Marks[fx.svc.me]
	if !mk.Covers(run-1, 1) || !mk.Covers(run, 1) {
		t.Errorf("own mark %+v, want it to cover the echo shown (run %d) and the send confirmed (run %d)", mk, run-1, run)
	}
}

// publishCheck is a memBroker whose sessions call check before each
// publish on a message topic.
type publishCheck struct {
	hookedBroker
	check func(Packet)
}

func newPublishCheck() *publishCheck {
	b := &publishCheck{}
	b.hookedBroker = hookedBroker{memBroker: newMemBroker(), hook: func(_ context.Context, p Packet, publish func() error) error {
		if !p.Retained && len(p.Payload) > 0 {
			b.check(p)
		}
		return publish()
	}}
	return b
}

// No message of a run goes out before the state file holds the run as our
// newest: a send that comes as the daemon stops, whose write of the new
// run is refused, is not sent. Sent anyway (the session is still open
// while Shutdown leaves the rooms), its echo would come to the next run,
// whose mark knows the run before and this run's successor but not this
// run: taken for a replay of an unknown, older run, and never shown to us
// though everyone else saw it.
func TestNoSendBeforeRunSaved(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var violations []string
	b := newPublishCheck()
	fx := newOwnFixture(t, b)
	run := fx.svc.cfg.Run
	b.check = func(Packet) {
		mu.Lock()
		defer mu.Unlock()
		if onDisk := marksOf(fx.st.saved(), fx.svc.me); onDisk.Run != run {
			violations = append(violations, fmt.Sprintf("a message went out while the state file's own mark was at run %d, not this run's %d", onDisk.Run, run))
		}
	}
	stopped := make(chan struct{})
	go func() {
		fx.svc.Shutdown(context.Background())
		close(stopped)
	}()
	<-fx.st.writes // Shutdown's last write, under way
	sent := make(chan error, 1)
	go func() {
		_, err := fx.svc.Send(context.Background(), fx.inv.Room, "as it stops")
		sent <- err
	}()
	waitFor(t, "the send to begin the run", func() bool {
		fx.r.mu.Lock()
		defer fx.r.mu.Unlock()
		mk := fx.r.marks[fx.svc.me]
		return mk != nil && mk.Run == run
	})
	close(fx.st.release)
	<-stopped
	err := <-sent
	mu.Lock()
	defer mu.Unlock()
	for _, v := range violations {
		t.Error(v)
	}
	if err == nil || !errors.Is(err, errStopping) {
		t.Errorf("send as the daemon stops: %v, want it refused as stopping", err)
	}
}

// A burst (packets queued behind each one, Packet.Queued) goes through the
// room's pipeline, opened on several goroutines: it is handled as one
// packet at a time would be — every message shown once, in the order it
// came, each acknowledged only once it is shown, a duplicate, a replay,
// garbage and a 1 MiB blob in the middle dropped and counted, nothing
// acknowledged twice.
func TestBurstHandledInOrder(t *testing.T) {
	t.Parallel()
	fx := newReplayFixture(t)
	fx.svc.rooms[fx.r.id] = fx.r
	events, _ := fx.svc.Subscribe(1 << 12)
	const n = 300
	var mu sync.Mutex
	acks := make(map[string]int)
	var early []string
	ack := func(id string) func() {
		return func() {
			fx.r.mu.Lock()
			shown := slices.ContainsFunc(fx.r.hist.list(), func(m Message) bool { return m.ID == id })
			fx.r.mu.Unlock()
			mu.Lock()
			defer mu.Unlock()
			acks[id]++
			if !shown && id[0] == 'm' {
				early = append(early, id)
			}
		}
	}
	now := time.Now()
	var want []string
	var packets []Packet
	var ids []string
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("m%03d", i)
		want = append(want, id)
		packets = append(packets, fx.message(id, 7, uint64(i), now))
		ids = append(ids, id)
		switch i {
		case 100:
			packets = append(packets, Packet{Topic: fx.r.topics.messages, Payload: []byte("garbage")})
			ids = append(ids, "garbage")
		case 200:
			packets = append(packets, fx.message("m150", 7, 150, now)) // the broker again
			ids = append(ids, "dup")
		case 250:
			packets = append(packets, fx.message("r150", 7, 150, now)) // a replay under another id
			ids = append(ids, "replay")
		case 260:
			packets = append(packets, Packet{Topic: fx.r.topics.messages, Payload: make([]byte, 1<<20)})
			ids = append(ids, "blob")
		}
	}
	for i, p := range packets {
		p.Queued = len(packets) - 1 - i
		fx.svc.deliver(fx.r, p, ack(ids[i]))
	}
	waitFor(t, "every packet handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		k := 0
		for _, c := range acks {
			k += c
		}
		return k >= len(packets)
	})
	var shown []string
	for len(shown) < n {
		select {
		case e := <-events:
			if e.Kind == EventMessage {
				shown = append(shown, e.Message.ID)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("shown %d of %d", len(shown), n)
		}
	}
	if !slices.Equal(shown, want) {
		t.Errorf("shown %q,\nwant %q", shown, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(early) > 0 {
		t.Errorf("acknowledged before shown: %v", early)
	}
	for _, id := range []string{"m150", "dup", "replay", "garbage", "blob"} {
		if acks[id] != 1 {
			t.Errorf("%s acknowledged %d times, want once", id, acks[id])
		}
	}
	if in := fx.r.info(fx.svc.me); in.Rejected != 2 || in.Replayed != 1 {
		t.Errorf("rejected %d, replayed %d; want 2 and 1", in.Rejected, in.Replayed)
	}
}

// The broker's echo of our own message is known without opening it: it is
// byte for byte the payload we sealed. A copy published again, or one
// changed by a byte, is opened as anything else: the copy is dropped, the
// changed one rejected; our message shows once.
func TestOwnEchoKnownWithoutOpening(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var sent []byte
	b := newPublishCheck()
	b.check = func(p Packet) {
		mu.Lock()
		sent = slices.Clone(p.Payload)
		mu.Unlock()
	}
	svc, _ := newTestService(t, "Asha", newMemRegistry(), b)
	inv, err := svc.Create(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	r := svc.room(inv.Room)
	m, err := svc.Send(t.Context(), inv.Room, "hello")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the echo taken", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.sealed) == 0
	})
	mu.Lock()
	payload := sent
	mu.Unlock()
	b.publish(Packet{Topic: r.topics.messages, Payload: payload})
	changed := slices.Clone(payload)
	changed[len(changed)-1] ^= 1
	b.publish(Packet{Topic: r.topics.messages, Payload: changed})
	waitFor(t, "the changed copy rejected", func() bool { return r.info(svc.me).Rejected == 1 })
	h, _ := svc.History(inv.Room)
	if n := len(slices.DeleteFunc(h, func(x Message) bool { return x.ID != m.ID })); n != 1 {
		t.Errorf("our message shown %d times, want once", n)
	}
}
