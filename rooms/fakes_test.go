package rooms

import (
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// In-memory implementations of the Service's ports, for fast tests of its
// orchestration. The real adapters (mqttx, db) are tested against real
// servers in their own packages and in cmd/sunoye.

// memRegistry is a Registry in memory, with the rules a real one enforces.
type memRegistry struct {
	mu    sync.Mutex
	rooms map[ID]*memRoom
	now   func() time.Time
}

type memRoom struct {
	rec    Record
	leases map[[32]byte]time.Time // holder → expiry
}

func newMemRegistry() *memRegistry {
	return &memRegistry{rooms: make(map[ID]*memRoom), now: time.Now}
}

func (g *memRegistry) live(r *memRoom) int {
	n := 0
	for _, exp := range r.leases {
		if exp.After(g.now()) {
			n++
		}
	}
	return n
}

func (g *memRegistry) Create(_ context.Context, rec Record, cred Credentials, ttl time.Duration) (Record, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := CheckProof(rec.Verifier, cred.Proof); err != nil {
		return Record{}, err
	}
	rec.Generation = 1
	if old := g.rooms[rec.ID]; old != nil {
		if g.live(old) > 0 {
			return Record{}, ErrRoomTaken
		}
		rec.Generation = old.rec.Generation + 1
	}
	g.rooms[rec.ID] = &memRoom{rec: rec, leases: map[[32]byte]time.Time{sha256.Sum256(cred.Token): g.now().Add(ttl)}}
	return rec, nil
}

func (g *memRegistry) Lookup(_ context.Context, id ID) (Record, Status, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.rooms[id]
	if r == nil {
		return Record{}, Status{}, ErrNoSuchRoom
	}
	n := g.live(r)
	return r.rec, Status{Members: n, Active: n > 0}, nil
}

func (g *memRegistry) Join(_ context.Context, id ID, gen int64, cred Credentials, ttl time.Duration) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.rooms[id]
	switch {
	case r == nil:
		return ErrNoSuchRoom
	case r.rec.Generation != gen || g.live(r) == 0:
		return ErrRoomInactive
	}
	if err := CheckProof(r.rec.Verifier, cred.Proof); err != nil {
		return err
	}
	r.leases[sha256.Sum256(cred.Token)] = g.now().Add(ttl)
	return nil
}

func (g *memRegistry) Renew(_ context.Context, leases []Lease, ttl time.Duration) (map[ID]int, []ID, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	counts := make(map[ID]int)
	var gone []ID
	for _, l := range leases {
		r := g.rooms[l.Room]
		if r == nil || r.rec.Generation != l.Generation {
			gone = append(gone, l.Room)
			continue
		}
		h := sha256.Sum256(l.Token)
		if _, ok := r.leases[h]; !ok && CheckProof(r.rec.Verifier, l.Proof) != nil {
			gone = append(gone, l.Room)
			continue
		}
		r.leases[h] = g.now().Add(ttl)
		counts[l.Room] = g.live(r)
	}
	return counts, gone, nil
}

func (g *memRegistry) Reregister(_ context.Context, rec Record, cred Credentials, ttl time.Duration) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := CheckProof(rec.Verifier, cred.Proof); err != nil {
		return err
	}
	r := g.rooms[rec.ID]
	if r == nil {
		r = &memRoom{rec: rec, leases: make(map[[32]byte]time.Time)}
		g.rooms[rec.ID] = r
	} else if r.rec.Generation != rec.Generation || string(r.rec.Verifier) != string(rec.Verifier) {
		return ErrRoomTaken
	}
	r.leases[sha256.Sum256(cred.Token)] = g.now().Add(ttl)
	return nil
}

func (g *memRegistry) Leave(_ context.Context, id ID, token []byte) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r := g.rooms[id]; r != nil {
		delete(r.leases, sha256.Sum256(token))
	}
	return nil
}

func (g *memRegistry) Close() error { return nil }

// wipe deletes every row, as a hostile account with table rights could.
func (g *memRegistry) wipe() {
	g.mu.Lock()
	defer g.mu.Unlock()
	clear(g.rooms)
}

// memBroker is a Transport in memory: topics with '#' filters, retained
// messages, ordered delivery per session, Wills.
type memBroker struct {
	mu       sync.Mutex
	sessions map[string]*memSession
	retained map[string][]byte
}

type memSession struct {
	// unacked counts the packets delivered and not yet handled.
	unacked atomic.Int64
	b       *memBroker
	cfg     SessionConfig
	queue   chan Packet
	closed  chan struct{}
	once    sync.Once
}

func newMemBroker() *memBroker {
	return &memBroker{sessions: make(map[string]*memSession), retained: make(map[string][]byte)}
}

func (b *memBroker) Open(_ context.Context, cfg SessionConfig) (Session, error) {
	s := &memSession{b: b, cfg: cfg, queue: make(chan Packet, 4096), closed: make(chan struct{})}
	b.mu.Lock()
	if old := b.sessions[cfg.ClientID]; old != nil {
		old.end(false) // a client id taken over
	}
	b.sessions[cfg.ClientID] = s
	for topic, payload := range b.retained {
		if s.matches(topic) {
			s.queue <- Packet{Topic: topic, Payload: payload, Retained: true}
		}
	}
	b.mu.Unlock()
	go func() {
		for {
			select {
			case p := <-s.queue:
				s.unacked.Add(1)
				cfg.Deliver(p, func() { s.unacked.Add(-1) })
			case <-s.closed:
				return
			}
		}
	}()
	return s, nil
}

func (s *memSession) matches(topic string) bool {
	for _, f := range s.cfg.Filters {
		if prefix, ok := strings.CutSuffix(f, "#"); ok && strings.HasPrefix(topic, prefix) || f == topic {
			return true
		}
	}
	return false
}

func (b *memBroker) publish(p Packet) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p.Retained {
		if len(p.Payload) == 0 {
			delete(b.retained, p.Topic)
		} else {
			b.retained[p.Topic] = p.Payload
		}
	}
	for _, s := range b.sessions {
		if s.matches(p.Topic) {
			s.queue <- Packet{Topic: p.Topic, Payload: p.Payload}
		}
	}
}

func (s *memSession) Publish(_ context.Context, p Packet) error {
	s.b.publish(p)
	return nil
}

func (s *memSession) Connected() bool { return true }
func (s *memSession) Waits() uint64   { return 0 }

// end stops the session; with will, as a crash does.
func (s *memSession) end(will bool) {
	s.once.Do(func() {
		close(s.closed)
		if will && s.cfg.Will != nil {
			go s.b.publish(*s.cfg.Will)
		}
	})
}

func (s *memSession) Close(context.Context, bool) error {
	s.b.mu.Lock()
	if s.b.sessions[s.cfg.ClientID] == s {
		delete(s.b.sessions, s.cfg.ClientID)
	}
	s.b.mu.Unlock()
	s.end(false)
	return nil
}

// hookedBroker is a memBroker whose sessions hand every publish to hook,
// which may look at it, hold it up or refuse it; publish sends it on.
type hookedBroker struct {
	*memBroker
	hook func(ctx context.Context, p Packet, publish func() error) error
}

func (b *hookedBroker) Open(ctx context.Context, cfg SessionConfig) (Session, error) {
	s, err := b.memBroker.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &hookedSession{Session: s, b: b}, nil
}

type hookedSession struct {
	Session
	b *hookedBroker
}

func (s *hookedSession) Publish(ctx context.Context, p Packet) error {
	return s.b.hook(ctx, p, func() error { return s.Session.Publish(ctx, p) })
}

// memState is a StateStore in memory.
type memState struct {
	mu    sync.Mutex
	rooms []SavedRoom
}

func (m *memState) SaveRooms(rs []SavedRoom) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rooms = rs
	return nil
}

func (m *memState) saved() []SavedRoom {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rooms
}

// fastKDF keeps key derivations cheap in tests.
var fastKDF = KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

// newTestService returns a Service on reg and b with a name and a fresh
// identity; it is shut down when the test ends.
func newTestService(t testing.TB, name string, reg Registry, b Transport) (*Service, *memState) {
	t.Helper()
	st := &memState{}
	svc, err := NewService(Config{
		Identity: NewIdentity(), Name: name, KDF: fastKDF, Heartbeat: time.Hour,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, reg, b, st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Shutdown(context.Background()) })
	return svc, st
}

// waitFor waits until cond holds, failing the test after a generous
// deadline: conditions here are met in microseconds on an idle machine.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// deliverNow delivers p as a session would, not waiting for it to be
// handled.
func (s *Service) deliverNow(r *room, p Packet) { s.deliver(r, p, func() {}) }

// deliverBehind delivers p as a session does when more packets wait
// behind it: it goes through the room's pipeline, and deliver returns
// without waiting for it to be shown (a lone packet is shown on the
// caller's goroutine, which would wait for the state file's write).
func (s *Service) deliverBehind(r *room, p Packet, handled func()) {
	p.Queued = 1
	s.deliver(r, p, handled)
}

// waitAdmitted waits until message id is admitted: waiting to be shown or
// shown.
func waitAdmitted(t *testing.T, r *room, id string) {
	t.Helper()
	waitFor(t, id+" admitted", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, ts := range r.toShow {
			if ts.m.ID == id {
				return true
			}
		}
		return slices.ContainsFunc(r.hist.list(), func(m Message) bool { return m.ID == id })
	})
}
