package db

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
)

// beat is one heartbeat of a member: when it started, how long it took,
// the room's lease count it returned, or its error.
type beat struct {
	at    time.Time
	took  time.Duration
	count int
	err   error
}

// heartbeats renews lease on r every interval, each with a daemon
// heartbeat's 20 s deadline, until stop is closed, and records each beat.
type heartbeats struct {
	mu    sync.Mutex
	beats []beat
}

func (h *heartbeats) run(r *Registry, l rooms.Lease, ttl, interval time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		start := time.Now()
		counts, gone, err := r.Renew(ctx, []rooms.Lease{l}, ttl)
		cancel()
		if err == nil && len(gone) > 0 {
			err = fmt.Errorf("room %s gone", l.Room)
		}
		h.mu.Lock()
		h.beats = append(h.beats, beat{at: start, took: time.Since(start), count: counts[l.Room], err: err})
		h.mu.Unlock()
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// since returns the beats that started at or after t.
func (h *heartbeats) since(t time.Time) []beat {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []beat
	for _, b := range h.beats {
		if !b.at.Before(t) {
			out = append(out, b)
		}
	}
	return out
}

// TestGaleraFailover: three members, whose DSNs list the three nodes of a
// Galera cluster in different orders (each starts on its own node), hold a
// room and renew their leases, and the node of the first is SIGKILLed in
// the middle. The first moves to another node; creating, joining and
// looking up rooms go on at once on all three; no heartbeat fails, and
// every one counts the room's three leases (none lapsed). The figures it
// logs are in docs/scaling.md.
func TestGaleraFailover(t *testing.T) {
	g := testenv.SharedGalera(t)
	dsns := g.NewDatabase(t, "failover")
	open(t, dsns[0]) // the schema, through one node (docs/scaling.md)
	orders := [3][]int{{0, 1, 2}, {1, 2, 0}, {2, 0, 1}}
	var regs [3]*Registry
	for i, o := range orders {
		regs[i] = open(t, testenv.HostList(t, dsns, o...))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// A lease outlives a node's loss, as a daemon's 90 s do; a beat every
	// quarter second shows when calls stall.
	const (
		ttl      = 20 * time.Second
		interval = 250 * time.Millisecond
	)

	// A creates on node 0; B and C join at once on nodes 1 and 2, which
	// find the room with wsrep_sync_wait set by the failover.
	rec, ma := create(t, ctx, regs[0], ttl)
	mb := join(t, ctx, regs[1], rec, ttl)
	mc := join(t, ctx, regs[2], rec, ttl)
	members := [3]rooms.Credentials{ma, mb, mc}
	var hb [3]heartbeats
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range regs {
		wg.Go(func() { hb[i].run(regs[i], lease(rec, members[i]), ttl, interval, stop) })
	}
	stopped := false
	stopBeats := func() {
		if !stopped {
			stopped = true
			close(stop)
			wg.Wait()
		}
	}
	defer stopBeats()
	began := time.Now()
	for i := range hb {
		waitFor(t, 30*time.Second, func() error {
			if n := len(hb[i].since(began)); n < 3 {
				return fmt.Errorf("member %d: %d heartbeats", i, n)
			}
			return nil
		})
	}

	// Node 0 dies in the middle of the conversation.
	killed := time.Now()
	g.Node(0).Kill(t)
	t.Cleanup(func() {
		start := time.Now()
		g.Restart(t, 0)
		t.Logf("node 0 restarted and synced with the cluster in %v", time.Since(start).Round(100*time.Millisecond))
	})

	// A's next call, a new room, goes to another node; B joins it, C
	// looks it up, and a newcomer joins the first room through A.
	rec2, _ := create(t, ctx, regs[0], ttl)
	firstCall := time.Since(killed)
	join(t, ctx, regs[1], rec2, ttl)
	if st := status(t, ctx, regs[2], rec2.ID); st != (rooms.Status{Members: 2, Active: true}) {
		t.Errorf("new room looked up on C's node right after B's join: %+v, want 2 members", st)
	}
	newcomer := join(t, ctx, regs[0], rec, ttl)
	t.Logf("node 0 killed: A's next call (a create) succeeded after %v; create, join, lookup, join done %v after the kill",
		firstCall.Round(time.Millisecond), time.Since(killed).Round(time.Millisecond))

	// Heartbeats go on past Galera's eviction of the node and more.
	for i := range hb {
		waitFor(t, 60*time.Second, func() error {
			if since := time.Since(killed); since < 15*time.Second {
				return fmt.Errorf("%v since the kill", since)
			}
			if n := len(hb[i].since(killed.Add(12 * time.Second))); n < 3 {
				return fmt.Errorf("member %d: %d heartbeats 12 s after the kill", i, n)
			}
			return nil
		})
	}
	stopBeats()
	if err := regs[1].Leave(ctx, rec.ID, newcomer.Token); err != nil {
		t.Fatal(err)
	}

	var before []time.Duration
	for i := range hb {
		var (
			failed  int
			slowest time.Duration
			resumed time.Duration = -1
		)
		for _, b := range hb[i].since(began) {
			want := 3
			if b.at.After(killed) {
				want = 0 // 3, or 4 once the newcomer joined: checked below
			}
			switch {
			case b.err != nil:
				failed++
				t.Errorf("member %d: heartbeat at %v after the kill failed after %v: %v", i, b.at.Sub(killed).Round(time.Millisecond), b.took.Round(time.Millisecond), b.err)
			case want == 3 && b.count != 3, want == 0 && b.count != 3 && b.count != 4:
				t.Errorf("member %d: heartbeat at %v after the kill counted %d leases, want 3 (or 4 with the newcomer)", i, b.at.Sub(killed).Round(time.Millisecond), b.count)
			}
			if b.at.After(killed) {
				slowest = max(slowest, b.took)
				if b.err == nil && resumed < 0 {
					resumed = b.at.Add(b.took).Sub(killed)
				}
			} else {
				before = append(before, b.took)
			}
		}
		t.Logf("member %d (node %d first): %d of %d heartbeats failed; first one after the kill done %v after it; slowest after the kill %v",
			i, orders[i][0], failed, len(hb[i].since(began)), resumed.Round(time.Millisecond), slowest.Round(time.Millisecond))
	}
	var slowestBefore time.Duration
	for _, d := range before {
		slowestBefore = max(slowestBefore, d)
	}
	t.Logf("slowest heartbeat before the kill: %v", slowestBefore.Round(time.Millisecond))
	for i := 1; i < 3; i++ {
		if n := g.Size(i); n != 2 {
			t.Errorf("node %d: cluster size %d after node 0 was killed, want 2", i, n)
		}
	}
	if _, _, err := regs[0].Lookup(ctx, rec.ID); err != nil && !errors.Is(err, rooms.ErrNoSuchRoom) {
		t.Errorf("A after the kill: %v", err)
	}
}

// waitFor polls f until it returns nil, or fails the test after within.
func waitFor(t *testing.T, within time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// BenchmarkGaleraSyncWait measures a heartbeat of a member in five rooms
// of four members on a node of the shared Galera cluster, with
// wsrep_sync_wait=3 (what a DSN of several hosts sets: each read and
// UPDATE first waits for the node to apply what the cluster committed)
// and without, alternately in one run, and reports both and their ratio.
func BenchmarkGaleraSyncWait(b *testing.B) {
	g := testenv.SharedGalera(b)
	dsns := g.NewDatabase(b, "bench_syncwait")
	creator := open(b, dsns[0])
	plain := open(b, dsns[1])
	synced := open(b, testenv.HostList(b, dsns, 1, 2, 0))
	ctx := context.Background()
	leases := make([]rooms.Lease, 5)
	for i := range leases {
		rec := newRecord(b)
		rec, err := creator.Create(ctx, rec, newMember(rec), longTTL)
		if err != nil {
			b.Fatal(err)
		}
		m := newMember(rec)
		for _, who := range []rooms.Credentials{m, newMember(rec), newMember(rec)} {
			if err := creator.Join(ctx, rec.ID, rec.Generation, who, longTTL); err != nil {
				b.Fatal(err)
			}
		}
		leases[i] = lease(rec, m)
	}
	heartbeat := func(r *Registry) time.Duration {
		start := time.Now()
		counts, gone, err := r.Renew(ctx, leases, longTTL)
		if err != nil || len(counts) != len(leases) || len(gone) != 0 {
			b.Fatalf("Renew: %v, %v, %v", counts, gone, err)
		}
		return time.Since(start)
	}
	var none, sync time.Duration
	n := 0
	for b.Loop() {
		none += heartbeat(plain)
		sync += heartbeat(synced)
		n++
	}
	b.ReportMetric(float64(none.Microseconds())/float64(n), "µs/heartbeat-without")
	b.ReportMetric(float64(sync.Microseconds())/float64(n), "µs/heartbeat-syncwait3")
	b.ReportMetric(float64(sync)/float64(none), "ratio")
}
