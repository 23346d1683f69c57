package mqttx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sunoye/sunoye/rooms"
)

// patience bounds every wait on a condition: generous, because a noisy
// 2-core CI machine can stall for seconds, and tests only wait that long
// when they fail.
const patience = 30 * time.Second

// testBroker is a broker the integration tests run against: the embedded
// one, or a real mosquitto.
type testBroker interface {
	URL() string
	Addr() string
	// Stop and Start restart the broker on the same port, losing its
	// sessions and retained messages (neither broker persists them here).
	Stop(t testing.TB)
	Start(t testing.TB)
}

// brokers are the brokers each integration test runs against, by name.
var brokers = []struct {
	name  string
	start func(t *testing.T) testBroker
}{
	{"embedded", func(t *testing.T) testBroker { return startEmbedded(t) }},
	{"mosquitto", func(t *testing.T) testBroker { return startMosquitto(t) }},
}

// forEachBroker runs f as a subtest against a fresh broker of each kind.
func forEachBroker(t *testing.T, f func(t *testing.T, b testBroker)) {
	t.Helper()
	for _, kind := range brokers {
		t.Run(kind.name, func(t *testing.T) { f(t, kind.start(t)) })
	}
}

// embedded is the embedded broker as a testBroker.
type embedded struct {
	addr string
	b    *Broker
}

func startEmbedded(t *testing.T) *embedded {
	t.Helper()
	e := &embedded{addr: "127.0.0.1:0"}
	e.Start(t)
	e.addr = e.b.Addr()
	t.Cleanup(func() { e.b.Close() })
	return e
}

func (e *embedded) URL() string  { return "tcp://" + e.addr }
func (e *embedded) Addr() string { return e.addr }
func (e *embedded) Stop(testing.TB) {
	e.b.Close()
}

func (e *embedded) Start(t testing.TB) {
	t.Helper()
	var err error
	// The port of the broker just stopped can linger for a moment.
	deadline := time.Now().Add(patience)
	for {
		e.b, err = NewBroker(e.addr, testLogger())
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := e.b.Start(); err != nil {
		t.Fatal(err)
	}
}

// testLogger logs to stderr when SUNOYE_TEST_LOG is set, else nowhere:
// logging to t would panic when a Paho goroutine logs after its test.
func testLogger() *slog.Logger {
	if os.Getenv("SUNOYE_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// testConfig is a Config for url with test-friendly timings.
func testConfig(url string) Config {
	return Config{
		Broker:               url,
		Logger:               testLogger(),
		ConnectTimeout:       5 * time.Second,
		MaxReconnectInterval: time.Second,
	}
}

func newTransport(t *testing.T, cfg Config) *Transport {
	t.Helper()
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// unique returns prefix followed by random hex, for client ids and topics
// that no other test uses.
func unique(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// collector is a Deliver function that records what it gets.
type collector struct {
	mu  sync.Mutex
	got []rooms.Packet
}

func (c *collector) deliver(p rooms.Packet, handled func()) {
	c.mu.Lock()
	c.got = append(c.got, p)
	c.mu.Unlock()
	handled()
}

func (c *collector) packets() []rooms.Packet {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

// waitTopic waits until a packet on topic has arrived, and returns the
// first one.
func (c *collector) waitTopic(t *testing.T, topic string) rooms.Packet {
	t.Helper()
	var found rooms.Packet
	eventually(t, "a packet on "+topic, func() bool {
		for _, p := range c.packets() {
			if p.Topic == topic {
				found = p
				return true
			}
		}
		return false
	})
	return found
}

// count is the number of packets received on topic.
func (c *collector) count(topic string) int {
	n := 0
	for _, p := range c.packets() {
		if p.Topic == topic {
			n++
		}
	}
	return n
}

// eventually polls cond until it holds, failing the test after patience.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %v", what, patience)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ctx returns a context that ends with the test or after patience.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), patience)
	t.Cleanup(cancel)
	return c
}

// opened is a session under test with what it delivered and how its
// connection went.
type opened struct {
	rooms.Session
	*collector
	mu          sync.Mutex
	connects    int
	disconnects int
	events      []string
}

func (o *opened) counts() (connects, disconnects int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.connects, o.disconnects
}

// open opens a session of tr with a collector as Deliver; edit may change
// the config first. The session is closed (keeping the broker's session,
// which dies with the test's broker) when the test ends.
func open(t *testing.T, tr *Transport, clientID string, filters []string, edit ...func(*rooms.SessionConfig)) *opened {
	t.Helper()
	o := &opened{collector: new(collector)}
	cfg := rooms.SessionConfig{
		ClientID: clientID,
		Filters:  filters,
		Deliver:  o.deliver,
		OnConnect: func() {
			o.mu.Lock()
			o.connects++
			o.events = append(o.events, "connect")
			o.mu.Unlock()
		},
		OnDisconnect: func(error) {
			o.mu.Lock()
			o.disconnects++
			o.events = append(o.events, "disconnect")
			o.mu.Unlock()
		},
	}
	for _, e := range edit {
		e(&cfg)
	}
	s, err := tr.Open(ctx(t), cfg)
	if err != nil {
		t.Fatalf("Open %s: %v", clientID, err)
	}
	o.Session = s
	t.Cleanup(func() { closeSession(t, s, false) })
	return o
}

func closeSession(t *testing.T, s rooms.Session, forget bool) {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := s.Close(c, forget); err != nil {
		t.Errorf("Close(forget=%v): %v", forget, err)
	}
}

func publish(t *testing.T, s rooms.Session, topic, payload string, retained bool) {
	t.Helper()
	if err := s.Publish(ctx(t), rooms.Packet{Topic: topic, Payload: []byte(payload), Retained: retained}); err != nil {
		t.Fatalf("Publish %s: %v", topic, err)
	}
}

func mustEqual[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// sessionConfig is a minimal session config that discards what it gets.
func sessionConfig() rooms.SessionConfig {
	return rooms.SessionConfig{ClientID: unique("c-"), Filters: []string{"a/#"}, Deliver: func(_ rooms.Packet, handled func()) { handled() }}
}

// flush returns once the broker has passed s's earlier messages on to
// their subscribers; s must be subscribed to room/#.
//
// The embedded broker does that after the PUBACK, so a session that takes
// over its old one (reconnecting, or reopened) at that moment can miss a
// message (mosquitto does it all in one thread). A broker handles one
// client's packets in order, so once s has its own sync message back,
// those before it went everywhere.
func flush(t *testing.T, s *opened, room string) {
	t.Helper()
	topic := unique(room + "/sync/")
	publish(t, s, topic, "", false)
	s.waitTopic(t, topic)
}
