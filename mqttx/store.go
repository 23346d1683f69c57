package mqttx

import (
	"cmp"
	"slices"
	"strconv"
	"sync"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

var _ mqtt.Store = (*store)(nil)

// store is a session's Paho message store: in memory, as Paho's own
// MemoryStore, with two differences that keep Publish's promise across a
// lost connection.
//
//   - All lists the messages in the order they were stored. After a
//     reconnection Paho resends the outgoing messages in the order All
//     gives, and MemoryStore's is a map's: two messages queued while the
//     connection was down went out in random order.
//   - It tells Publish when an outgoing message leaves the store, which
//     is when the broker acknowledged it (Paho deletes it on PUBACK), on
//     whichever connection that happened: Paho completes a publish's token
//     with an error when writing it to a connection that has just broken,
//     though it keeps the message and resends it after reconnecting.
type store struct {
	mu    sync.Mutex
	seq   uint64
	items map[string]*storeItem
}

type storeItem struct {
	seq  uint64
	pkt  packets.ControlPacket
	gone chan struct{} // closed when the item is deleted
}

func newStore() *store { return &store{items: make(map[string]*storeItem)} }

// Open implements mqtt.Store.
func (s *store) Open() {}

// Close implements mqtt.Store. The contents stay: Paho closes the store
// when the client disconnects, and nothing is resent after that.
func (s *store) Close() {}

// Put implements mqtt.Store. A message stored again (Paho marks a resend
// as a duplicate) keeps its place.
func (s *store) Put(key string, m packets.ControlPacket) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it, ok := s.items[key]; ok {
		it.pkt = m
		return
	}
	s.seq++
	s.items[key] = &storeItem{seq: s.seq, pkt: m, gone: make(chan struct{})}
}

// Get implements mqtt.Store.
func (s *store) Get(key string) packets.ControlPacket {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it, ok := s.items[key]; ok {
		return it.pkt
	}
	return nil
}

// All implements mqtt.Store: the keys in the order they were first stored.
func (s *store) All() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.items))
	for k := range s.items {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Compare(s.items[a].seq, s.items[b].seq) })
	return keys
}

// Del implements mqtt.Store.
func (s *store) Del(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it, ok := s.items[key]; ok {
		close(it.gone)
		delete(s.items, key)
	}
}

// Reset implements mqtt.Store. Paho calls it only for clean sessions,
// which SunOye's sessions are not; the messages it drops were not
// acknowledged, so their waiters are left to their contexts rather than
// told the messages went out.
func (s *store) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.items)
}

// outgoing returns a channel closed once the outgoing publish with message
// id id has left the store, and false if it is not there (never stored,
// or acknowledged already).
func (s *store) outgoing(id uint16) (<-chan struct{}, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Paho's key for an outgoing message.
	it, ok := s.items["o."+strconv.Itoa(int(id))]
	if !ok {
		return nil, false
	}
	return it.gone, true
}
