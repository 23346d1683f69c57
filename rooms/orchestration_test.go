package rooms

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Fast tests of the Service's orchestration on the in-memory registry and
// broker (fakes_test.go); the real adapters are tested against real
// servers in mqttx, db and cmd/sunoye.

// takenRegistry says the first n numbers asked for are taken.
type takenRegistry struct {
	*memRegistry
	mu    sync.Mutex
	n     int
	tried []ID
}

func (g *takenRegistry) Create(ctx context.Context, rec Record, cred Credentials, ttl time.Duration) (Record, error) {
	g.mu.Lock()
	g.tried = append(g.tried, rec.ID)
	taken := len(g.tried) <= g.n
	g.mu.Unlock()
	if taken {
		return Record{}, ErrRoomTaken
	}
	return g.memRegistry.Create(ctx, rec, cred, ttl)
}

// A new room's random number that names an active room is drawn again.
func TestCreateRetriesTakenNumber(t *testing.T) {
	t.Parallel()
	reg := &takenRegistry{memRegistry: newMemRegistry(), n: 3}
	svc, _ := newTestService(t, "Asha", reg, newMemBroker())
	inv, err := svc.Create(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(reg.tried) != 4 || reg.tried[3] != inv.Room {
		t.Errorf("numbers tried %v, room %s: want three taken, then the room", reg.tried, inv.Room)
	}
	if len(slices.Compact(slices.Sorted(slices.Values(reg.tried)))) != 4 {
		t.Errorf("the same number drawn twice: %v", reg.tried)
	}
}

// failingBroker refuses to open sessions while down is set.
type failingBroker struct {
	*memBroker
	down atomic.Bool
}

func (b *failingBroker) Open(ctx context.Context, cfg SessionConfig) (Session, error) {
	if b.down.Load() {
		return nil, errors.New("broker unreachable")
	}
	return b.memBroker.Open(ctx, cfg)
}

// Saved rooms whose sessions cannot be opened at start stay saved (their
// keys are not lost to a passing failure), keep their leases, are opened
// at a later heartbeat, and can be left meanwhile.
func TestRestorePendingRooms(t *testing.T) {
	t.Parallel()
	reg := newMemRegistry()
	b := &failingBroker{memBroker: newMemBroker()}
	first, firstState := newTestService(t, "Asha", reg, b)
	var ids []ID
	for range 2 {
		inv, err := first.Create(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, inv.Room)
	}
	saved := firstState.saved()
	// The next start has the same identity and state, and no broker.
	b.down.Store(true)
	st := &memState{}
	again, err := NewService(first.cfg, reg, b, st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { again.Shutdown(context.Background()) })
	if err := again.Restore(t.Context(), saved); err != nil {
		t.Fatal(err)
	}
	if got := len(again.Rooms()); got != 0 {
		t.Errorf("%d rooms open without a broker", got)
	}
	if got := len(st.saved()); got != 2 {
		t.Fatalf("state file has %d rooms, want both kept", got)
	}
	// Leaving a pending room ends its lease and forgets it.
	if err := again.Leave(t.Context(), ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, status, _ := reg.Lookup(t.Context(), ids[0]); status.Members != 0 {
		t.Errorf("the left pending room still has %d leases", status.Members)
	}
	// The broker comes back: the next heartbeat opens the other.
	b.down.Store(false)
	again.heartbeat(t.Context())
	rs := again.Rooms()
	if len(rs) != 1 || rs[0].ID != ids[1] {
		t.Errorf("rooms after the heartbeat: %+v, want %s", rs, ids[1])
	}
	if got := st.saved(); len(got) != 1 || got[0].ID != ids[1] {
		t.Errorf("state file has %+v, want only %s", got, ids[1])
	}
}
