package mqttx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
)

func TestRoundtrip(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b testBroker) {
		tr := newTransport(t, testConfig(b.URL()))
		room := unique("room/")
		alice := open(t, tr, unique("alice-"), []string{room + "/#"})
		bob := open(t, tr, unique("bob-"), []string{room + "/#"})
		if !alice.Connected() || !bob.Connected() {
			t.Fatal("a session is not connected after Open")
		}
		eventually(t, "OnConnect", func() bool { c, _ := alice.counts(); return c == 1 })

		publish(t, alice, room+"/msg", "hello", false)
		got := bob.waitTopic(t, room+"/msg")
		if string(got.Payload) != "hello" || got.Retained {
			t.Errorf("bob got %q retained=%v, want \"hello\" not retained", got.Payload, got.Retained)
		}
		alice.waitTopic(t, room+"/msg") // one's own messages come back too

		// A packet published before a session subscribes reaches it as
		// retained.
		publish(t, bob, room+"/presence/bob", "here", true)
		carol := open(t, tr, unique("carol-"), []string{room + "/presence/+"})
		got = carol.waitTopic(t, room+"/presence/bob")
		if string(got.Payload) != "here" || !got.Retained {
			t.Errorf("carol got %q retained=%v, want \"here\" retained", got.Payload, got.Retained)
		}
	})
}

func TestOpenUnreachable(t *testing.T) {
	port := testenv.FreePort(t) // nothing listens there
	for _, url := range []string{
		fmt.Sprintf("tcp://127.0.0.1:%d", port),
		fmt.Sprintf("tcp://alice:s3cret@127.0.0.1:%d", port),
		fmt.Sprintf("ws://127.0.0.1:%d/mqtt", port),
	} {
		t.Run(url, func(t *testing.T) {
			tr := newTransport(t, testConfig(url))
			start := time.Now()
			_, err := tr.Open(ctx(t), rooms.SessionConfig{ClientID: unique("c-"), Filters: []string{"a/#"}, Deliver: func(_ rooms.Packet, handled func()) { handled() }})
			if err == nil {
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			want := "broker " + Redact(url) + ": unreachable: "
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not contain %q", msg, want)
			}
			if strings.Contains(msg, "s3cret") {
				t.Errorf("error %q shows the password", msg)
			}
			if !errors.Is(err, ErrUnreachable) || !errors.Is(err, rooms.ErrUnavailable) {
				t.Errorf("error %q is not ErrUnreachable and rooms.ErrUnavailable", msg)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Open took %v to fail on a refused connection", d)
			}
		})
	}
}

func TestOpenInvalidConfig(t *testing.T) {
	tr := newTransport(t, testConfig("tcp://127.0.0.1:1"))
	deliver := func(_ rooms.Packet, handled func()) { handled() }
	tests := []struct {
		name string
		cfg  rooms.SessionConfig
		want string
	}{
		{"no client id", rooms.SessionConfig{Deliver: deliver}, "client id"},
		{"no deliver", rooms.SessionConfig{ClientID: "c"}, "Deliver"},
		{"bad filter", rooms.SessionConfig{ClientID: "c", Deliver: deliver, Filters: []string{"a/#/b"}}, "wildcard"},
		{"bad will", rooms.SessionConfig{ClientID: "c", Deliver: deliver, Will: &rooms.Packet{Topic: "a/+"}}, "will"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tr.Open(ctx(t), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open = %v, want an error about %s", err, tt.want)
			}
		})
	}
}

func TestPublishErrors(t *testing.T) {
	b := startEmbedded(t)
	tr := newTransport(t, testConfig(b.URL()))
	s := open(t, tr, unique("c-"), nil)
	if err := s.Publish(ctx(t), rooms.Packet{Topic: "a/#"}); err == nil {
		t.Error("Publish to a wildcard topic succeeded")
	}
	closeSession(t, s, false)
	closeSession(t, s, true) // a second Close does nothing
	err := s.Publish(ctx(t), rooms.Packet{Topic: "a/b", Payload: []byte("x")})
	if !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
	if s.Connected() {
		t.Error("Connected after Close")
	}
}

func TestBrokerRestart(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b testBroker) {
		tr := newTransport(t, testConfig(b.URL()))
		room := unique("room/")
		alice := open(t, tr, unique("alice-"), []string{room + "/#"})
		bob := open(t, tr, unique("bob-"), []string{room + "/#"})
		publish(t, alice, room+"/before", "1", false)
		bob.waitTopic(t, room+"/before")

		b.Stop(t)
		eventually(t, "both sessions to notice", func() bool {
			_, ad := alice.counts()
			_, bd := bob.counts()
			return ad == 1 && bd == 1 && !alice.Connected() && !bob.Connected()
		})
		b.Start(t)
		// The restarted broker has forgotten the sessions: they must
		// subscribe again by themselves.
		eventually(t, "both sessions to reconnect", func() bool {
			ac, _ := alice.counts()
			bc, _ := bob.counts()
			return ac == 2 && bc == 2 && alice.Connected() && bob.Connected()
		})
		publish(t, alice, room+"/after", "2", false)
		bob.waitTopic(t, room+"/after")
		alice.mu.Lock()
		events := strings.Join(alice.events, ",")
		alice.mu.Unlock()
		mustEqual(t, "alice's connection events", events, "connect,disconnect,connect")
	})
}

func TestPublishWhileDown(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b testBroker) {
		tr := newTransport(t, testConfig(b.URL()))
		topic := unique("room/") + "/presence/alice"
		alice := open(t, tr, unique("alice-"), nil)
		b.Stop(t)
		eventually(t, "the session to notice", func() bool { return !alice.Connected() })

		published := make(chan error, 1)
		go func() {
			// Retained, so that it can be seen after the restart whatever
			// the order in which the sessions reconnect.
			published <- alice.Publish(ctx(t), rooms.Packet{Topic: topic, Payload: []byte("here"), Retained: true})
		}()
		select {
		case err := <-published:
			t.Fatalf("Publish returned %v while the broker was down", err)
		case <-time.After(100 * time.Millisecond):
		}
		b.Start(t)
		if err := <-published; err != nil {
			t.Fatalf("Publish across the restart: %v", err)
		}
		bob := open(t, tr, unique("bob-"), []string{topic})
		if got := bob.waitTopic(t, topic); string(got.Payload) != "here" {
			t.Errorf("got %q, want \"here\"", got.Payload)
		}
	})
}

func TestPersistentSession(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b testBroker) {
		tr := newTransport(t, testConfig(b.URL()))
		room := unique("room/")
		id := unique("alice-")
		bob := open(t, tr, unique("bob-"), []string{room + "/#"})
		alice := open(t, tr, id, []string{room + "/#"})
		closeSession(t, alice, false)
		publish(t, bob, room+"/queued", "while away", false)
		flush(t, bob, room)

		alice = open(t, tr, id, []string{room + "/#"})
		if got := alice.waitTopic(t, room+"/queued"); string(got.Payload) != "while away" {
			t.Errorf("got %q, want \"while away\"", got.Payload)
		}

		closeSession(t, alice, true)
		publish(t, bob, room+"/lost", "after forget", false)
		flush(t, bob, room)
		alice = open(t, tr, id, []string{room + "/#"})
		// Anything queued would arrive before a packet published now.
		publish(t, bob, room+"/marker", "", false)
		alice.waitTopic(t, room+"/marker")
		if n := alice.count(room + "/lost"); n != 0 {
			t.Errorf("got %d packets published after forget", n)
		}
		if n := alice.count(room + "/queued"); n != 0 {
			t.Errorf("got %d packets again that the forgotten session had", n)
		}
	})
}

func TestWill(t *testing.T) {
	tests := []struct {
		name string
		will string
	}{
		{"payload", "gone"},
		{"empty clears retained presence", ""},
	}
	forEachBroker(t, func(t *testing.T, b testBroker) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				presence := unique("room/") + "/presence"
				mine := presence + "/alice"
				proxy := startProxy(t, b.Addr())
				cfg := testConfig("tcp://" + proxy.Addr())
				cfg.KeepAlive = time.Second // in case the cut is silent
				alice := open(t, newTransport(t, cfg), unique("alice-"), nil, func(c *rooms.SessionConfig) {
					c.Will = &rooms.Packet{Topic: mine, Payload: []byte(tt.will), Retained: true}
				})
				tr := newTransport(t, testConfig(b.URL()))
				carol := open(t, tr, unique("carol-"), []string{presence + "/+"})
				publish(t, alice, mine, "here", true)
				if got := carol.waitTopic(t, mine); string(got.Payload) != "here" {
					t.Fatalf("carol got %q, want \"here\"", got.Payload)
				}

				proxy.Cut()
				// (The embedded broker may have sent "here" twice: it
				// acknowledges a subscription before it sends the retained
				// messages, so a message published in between comes both
				// live and retained.)
				eventually(t, "the Will", func() bool {
					for _, p := range carol.packets() {
						if p.Topic == mine && string(p.Payload) == tt.will {
							if p.Retained {
								t.Errorf("the Will came to a subscriber as retained")
							}
							return true
						}
					}
					return false
				})

				// What a member joining now sees.
				dave := open(t, tr, unique("dave-"), []string{presence + "/+"})
				// Retained messages would come before dave's own marker:
				// brokers handle a client's packets in order, and send the
				// retained messages while handling the SUBSCRIBE. (Not
				// before the SUBACK, though, with the embedded broker: a
				// marker from another client could overtake them.)
				publish(t, dave, presence+"/marker", "m", false)
				dave.waitTopic(t, presence+"/marker")
				var seen []string
				for _, p := range dave.packets() {
					if p.Topic == mine {
						seen = append(seen, fmt.Sprintf("%q retained=%v", p.Payload, p.Retained))
					}
				}
				want := ""
				if tt.will != "" {
					want = fmt.Sprintf("%q retained=true", tt.will)
				}
				mustEqual(t, "what a newcomer sees of alice", strings.Join(seen, "; "), want)
			})
		}
	})
}

func TestCleanCloseSendsNoWill(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b testBroker) {
		tr := newTransport(t, testConfig(b.URL()))
		presence := unique("room/") + "/presence"
		carol := open(t, tr, unique("carol-"), []string{presence + "/+"})
		alice := open(t, tr, unique("alice-"), nil, func(c *rooms.SessionConfig) {
			c.Will = &rooms.Packet{Topic: presence + "/alice", Retained: true}
		})
		closeSession(t, alice, false)
		publish(t, carol, presence+"/marker", "", false)
		carol.waitTopic(t, presence+"/marker")
		mustEqual(t, "Will packets after a clean close", carol.count(presence+"/alice"), 0)
	})
}

func TestSlowDeliver(t *testing.T) {
	const queueLen, flood = 8, 200
	forEachBroker(t, func(t *testing.T, b testBroker) {
		room := unique("room/")
		topic := room + "/msg"
		cfg := testConfig(b.URL())
		cfg.QueueLen = queueLen
		slowTr := newTransport(t, cfg)
		tr := newTransport(t, testConfig(b.URL()))

		unblock := make(chan struct{})
		var (
			slowMu  sync.Mutex
			slowGot []string
		)
		got := func() []string {
			slowMu.Lock()
			defer slowMu.Unlock()
			return slices.Clone(slowGot)
		}
		slow := open(t, slowTr, unique("slow-"), []string{room + "/#"}, func(c *rooms.SessionConfig) {
			c.Deliver = func(p rooms.Packet, handled func()) {
				<-unblock
				slowMu.Lock()
				slowGot = append(slowGot, string(p.Payload))
				slowMu.Unlock()
				handled()
			}
		})
		defer func() {
			select {
			case <-unblock:
			default:
				close(unblock)
			}
		}()
		fast := open(t, tr, unique("fast-"), []string{room + "/#"})
		pub := open(t, tr, unique("pub-"), nil)
		for i := range flood {
			publish(t, pub, topic, fmt.Sprint(i), false)
		}
		// The blocked Deliver holds up neither the other session nor its
		// own connection.
		eventually(t, "the fast session to get the flood", func() bool { return fast.count(topic) == flood })
		for i, p := range fast.packets() {
			if string(p.Payload) != fmt.Sprint(i) {
				t.Fatalf("packet %d is %q: out of order", i, p.Payload)
			}
		}
		// The slow one holds up the broker instead of dropping: its queue
		// fills and it stops reading.
		eventually(t, "the slow session to hold up the broker", func() bool { return slow.Waits() > 0 })
		if !slow.Connected() {
			t.Error("the slow session lost its connection")
		}
		close(unblock)
		// Every packet arrives, once, in order.
		var want []string
		for i := range flood {
			want = append(want, fmt.Sprint(i))
		}
		eventually(t, "the slow session to catch up", func() bool { return len(got()) >= flood })
		if g := got(); !slices.Equal(g, want) {
			t.Errorf("the slow session got %d packets %q…, want the %d in order", len(g), g[:min(len(g), 10)], flood)
		}
		// And it works afterwards.
		publish(t, pub, room+"/later", "x", false)
		eventually(t, "a packet after the flood", func() bool { return len(got()) == flood+1 })
	})
}

func TestDeliverPublishes(t *testing.T) {
	const n = 50
	forEachBroker(t, func(t *testing.T, b testBroker) {
		tr := newTransport(t, testConfig(b.URL()))
		room := unique("room/")
		var echo rooms.Session
		var mu sync.Mutex
		var errs []error
		echoer := open(t, tr, unique("echo-"), []string{room + "/ping", room + "/pong"}, func(c *rooms.SessionConfig) {
			c.Deliver = func(p rooms.Packet, handled func()) {
				defer handled()
				if p.Topic != room+"/ping" {
					return // its own pongs come back here, while it waits
				}
				// Publish from Deliver: waits for the PUBACK on the
				// delivery goroutine.
				err := echo.Publish(context.Background(), rooms.Packet{Topic: room + "/pong", Payload: p.Payload})
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
		echo = echoer.Session
		client := open(t, tr, unique("client-"), []string{room + "/pong"})
		for i := range n {
			publish(t, client, room+"/ping", fmt.Sprint(i), false)
		}
		eventually(t, "all pongs", func() bool { return client.count(room+"/pong") == n })
		mu.Lock()
		defer mu.Unlock()
		if len(errs) > 0 {
			t.Errorf("Publish in Deliver: %v", errors.Join(errs...))
		}
	})
}

func TestDeliverCloses(t *testing.T) {
	b := startEmbedded(t)
	tr := newTransport(t, testConfig(b.URL()))
	room := unique("room/")
	var s rooms.Session
	closed := make(chan error, 1)
	o := open(t, tr, unique("c-"), []string{room + "/#"}, func(c *rooms.SessionConfig) {
		c.Deliver = func(_ rooms.Packet, handled func()) {
			defer handled()
			c, cancel := context.WithTimeout(context.Background(), patience)
			defer cancel()
			closed <- s.Close(c, true)
		}
	})
	s = o.Session
	publish(t, s, room+"/bye", "", false)
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close from Deliver: %v", err)
		}
	case <-time.After(patience):
		t.Fatal("Close from Deliver did not return")
	}
}

func TestGarbageAndBigPayloads(t *testing.T) {
	testenv.NeedBinary(t, "mosquitto_pub", "mosquitto-clients")
	big := bytes.Repeat([]byte{0xff, 0x00, 0x42, '\n'}, 1<<18) // 1 MiB, not text
	forEachBroker(t, func(t *testing.T, b testBroker) {
		tr := newTransport(t, testConfig(b.URL()))
		room := unique("room/")
		alice := open(t, tr, unique("alice-"), []string{room + "/#"})

		mosquittoPub(t, b.Addr(), room+"/garbage", []byte{0, 1, 2, 0xfe, 0xff})
		mosquittoPub(t, b.Addr(), room+"/empty", nil)
		if got := alice.waitTopic(t, room+"/garbage"); !bytes.Equal(got.Payload, []byte{0, 1, 2, 0xfe, 0xff}) {
			t.Errorf("garbage arrived as %x", got.Payload)
		}
		alice.waitTopic(t, room+"/empty")

		// The embedded broker refuses packets over MaxPacketSize (and
		// closes mosquitto_pub's connection); mosquitto takes them.
		err := tryMosquittoPub(b.Addr(), room+"/big", big)
		if _, isEmbedded := b.(*embedded); !isEmbedded {
			if err != nil {
				t.Fatalf("mosquitto_pub of 1 MiB: %v", err)
			}
			if got := alice.waitTopic(t, room+"/big"); !bytes.Equal(got.Payload, big) {
				t.Errorf("the 1 MiB payload arrived as %d other bytes", len(got.Payload))
			}
		}
		publish(t, alice, room+"/after", "still here", false)
		alice.waitTopic(t, room+"/after")
		if !alice.Connected() {
			t.Error("the session lost its connection")
		}
	})
}

func TestPing(t *testing.T) {
	m := testenv.StartMosquitto(t)
	tr, err := New(Config{Broker: m.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Ping(t.Context()); err != nil {
		t.Errorf("Ping a running broker: %v", err)
	}
	m.Stop(t)
	err = tr.Ping(t.Context())
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), m.Addr()) {
		t.Errorf("Ping a stopped broker: %v, want ErrUnreachable naming %s", err, m.Addr())
	}
}

// A packet is acknowledged only once Deliver has handled it: what was
// delivered but not handled, and what was still queued, when the session
// closed (as at a daemon's stop) comes again, in order, to the next session
// with the same client id.
func TestUnhandledComesAgain(t *testing.T) {
	const n = 20
	forEachBroker(t, func(t *testing.T, b testBroker) {
		tr := newTransport(t, testConfig(b.URL()))
		room := unique("room/")
		id := unique("member-")
		var handledN atomic.Int64
		first := open(t, tr, id, []string{room + "/#"}, func(c *rooms.SessionConfig) {
			c.Deliver = func(p rooms.Packet, handled func()) {
				// The first five are handled; the rest are seen, never
				// handled: a daemon stopped while they waited.
				if handledN.Load() < 5 {
					handledN.Add(1)
					handled()
				}
			}
		})
		pub := open(t, tr, unique("pub-"), nil)
		for i := range n {
			publish(t, pub, room+"/m", fmt.Sprint(i), false)
		}
		eventually(t, "five handled", func() bool { return handledN.Load() == 5 })
		if err := first.Close(ctx(t), false); err != nil {
			t.Fatal(err)
		}
		again := open(t, tr, id, []string{room + "/#"})
		unhandled := func() int {
			k := 0
			for _, p := range again.packets() {
				if i, err := strconv.Atoi(string(p.Payload)); err == nil && i >= 5 {
					k++
				}
			}
			return k
		}
		eventually(t, "the unhandled ones again", func() bool { return unhandled() >= n-5 })
		// A handled one may come again too, if its acknowledgement was
		// still on its way when the session closed (at least once: the
		// rooms' marks keep it from showing twice); every unhandled one
		// must.
		var got []string
		for _, p := range again.packets() {
			if i, err := strconv.Atoi(string(p.Payload)); err == nil && i < 5 {
				continue
			}
			got = append(got, string(p.Payload))
		}
		var want []string
		for i := 5; i < n; i++ {
			want = append(want, fmt.Sprint(i))
		}
		if _, ok := b.(*embedded); ok {
			// mochi-mqtt resends unacknowledged messages sorted by the
			// second they were queued in: within a second, in any order.
			slices.Sort(got)
			slices.Sort(want)
		}
		if !slices.Equal(got, want) {
			t.Errorf("the next session got %q, want %q", got, want)
		}
	})
}

// Publish's errors read as they always did: the topic, the broker once
// the packet reached it, and the cause, which errors.Is still finds.
func TestPublishErrorWording(t *testing.T) {
	s := &session{t: &Transport{url: brokerList{redacted: "tcp://alice@broker.example:1883"}}}
	queued := fmt.Errorf("%w (the message stays queued for the next connection)", context.DeadlineExceeded)
	for _, c := range []struct {
		topic    string
		onBroker bool
		err      error
		want     string
	}{
		{"", false, errors.New("bad topic"), "mqttx: publish: bad topic"},
		{"a/b", false, ErrClosed, "mqttx: publish to a/b: session closed"},
		{"a/b", true, queued, "mqttx: publish to a/b on broker tcp://alice@broker.example:1883: context deadline exceeded (the message stays queued for the next connection)"},
	} {
		got := s.publishError(c.topic, c.onBroker, c.err)
		if got.Error() != c.want || !errors.Is(got, c.err) {
			t.Errorf("publishError(%q, %v, %v) = %q, want %q wrapping the cause", c.topic, c.onBroker, c.err, got, c.want)
		}
	}
}

// TestDeliverInline: with DeliverInline, a lone packet is delivered on
// Paho's goroutine, marked Inline; packets that come while one is being
// delivered are queued and delivered after it, not Inline; every packet
// comes once, in order, whichever way it went.
func TestDeliverInline(t *testing.T) {
	const n = 100
	forEachBroker(t, func(t *testing.T, b testBroker) {
		tr := newTransport(t, testConfig(b.URL()))
		room := unique("room/")
		topic := room + "/msg"
		unblock := make(chan struct{})
		var (
			mu  sync.Mutex
			got []rooms.Packet
		)
		packets := func() []rooms.Packet {
			mu.Lock()
			defer mu.Unlock()
			return slices.Clone(got)
		}
		sub := open(t, tr, unique("inline-"), []string{topic}, func(c *rooms.SessionConfig) {
			c.DeliverInline = true
			c.Deliver = func(p rooms.Packet, handled func()) {
				mu.Lock()
				got = append(got, p)
				first := len(got) == 1
				mu.Unlock()
				if first {
					<-unblock // the others come meanwhile
				}
				handled()
			}
		})
		pub := open(t, tr, unique("pub-"), nil)
		for i := range n {
			publish(t, pub, topic, fmt.Sprint(i), false)
		}
		close(unblock)
		eventually(t, "every packet", func() bool { return len(packets()) >= n })
		inline := 0
		for i, p := range packets() {
			if string(p.Payload) != fmt.Sprint(i) {
				t.Fatalf("packet %d is %q: out of order or twice", i, p.Payload)
			}
			if p.Inline {
				inline++
				if p.Queued != 0 {
					t.Errorf("packet %d delivered inline with %d queued behind", i, p.Queued)
				}
			}
		}
		if !packets()[0].Inline {
			t.Error("the first packet, alone, was not delivered inline")
		}
		t.Logf("%d of %d packets delivered inline", inline, n)
		// Once everything is through, a lone packet goes inline again.
		s := sub.Session.(*session)
		eventually(t, "the queue to drain", func() bool { return s.pending.Load() == 0 })
		publish(t, pub, topic, "later", false)
		eventually(t, "the later packet", func() bool { return len(packets()) == n+1 })
		if !packets()[n].Inline {
			t.Error("a lone packet after the burst was not delivered inline")
		}
		if len(packets()) != n+1 {
			t.Errorf("got %d packets, want %d", len(packets()), n+1)
		}
	})
}
