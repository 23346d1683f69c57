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

// conversation is three members of one room, each with a registry whose
// DSN lists the nodes of the shared Galera cluster in another order (each
// starts on its own node), renewing their leases every quarter second
// with a daemon heartbeat's deadline.
type conversation struct {
	g      *testenv.Galera
	orders [3][]int
	regs   [3]*Registry
	rec    rooms.Record
	hb     [3]heartbeats
	began  time.Time

	stop    chan struct{}
	wg      sync.WaitGroup
	stopped bool
}

// A lease outlives a node's loss, as a daemon's 90 s do; a beat every
// quarter second shows when calls stall.
const (
	convTTL      = 20 * time.Second
	convInterval = 250 * time.Millisecond
)

// startConversation makes a database on the shared cluster, has the
// first member create a room on node 0 and the others join it at once on
// nodes 1 and 2 (which find it with the wsrep_sync_wait that the
// failover sets), starts the heartbeats, and waits for three of each.
func startConversation(t *testing.T, ctx context.Context, name string) *conversation {
	c := &conversation{g: testenv.SharedGalera(t), orders: [3][]int{{0, 1, 2}, {1, 2, 0}, {2, 0, 1}}, stop: make(chan struct{})}
	dsns := c.g.NewDatabase(t, name)
	open(t, dsns[0]) // the schema, through one node (docs/scaling.md)
	for i, o := range c.orders {
		c.regs[i] = open(t, testenv.HostList(t, dsns, o...))
	}
	var members [3]rooms.Credentials
	c.rec, members[0] = create(t, ctx, c.regs[0], convTTL)
	members[1] = join(t, ctx, c.regs[1], c.rec, convTTL)
	members[2] = join(t, ctx, c.regs[2], c.rec, convTTL)
	c.began = time.Now()
	for i := range c.regs {
		c.wg.Go(func() { c.hb[i].run(c.regs[i], lease(c.rec, members[i]), convTTL, convInterval, c.stop) })
	}
	t.Cleanup(c.stopBeats)
	c.waitBeats(t, c.began)
	return c
}

// stopBeats stops the heartbeats and waits until they have.
func (c *conversation) stopBeats() {
	if !c.stopped {
		c.stopped = true
		close(c.stop)
		c.wg.Wait()
	}
}

// waitBeats waits until each member has had three heartbeats that started
// after t0.
func (c *conversation) waitBeats(t *testing.T, t0 time.Time) {
	t.Helper()
	for i := range c.hb {
		testenv.Eventually(t, 60*time.Second, func() error {
			if n := len(c.hb[i].since(t0)); n < 3 {
				return fmt.Errorf("member %d: %d heartbeats since %v", i, n, t0.Format(time.TimeOnly))
			}
			return nil
		})
	}
}

// TestGaleraFailover: three members, whose DSNs list the three nodes of a
// Galera cluster in different orders (each starts on its own node), hold a
// room and renew their leases, and the node of the first is SIGKILLed in
// the middle. The first moves to another node; creating, joining and
// looking up rooms go on at once on all three; no heartbeat fails, and
// every one counts the room's three leases (none lapsed). The figures it
// logs are in docs/scaling.md.
func TestGaleraFailover(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := startConversation(t, ctx, "failover")
	g, regs, orders, rec, hb, began := c.g, c.regs, c.orders, c.rec, &c.hb, c.began
	const ttl = convTTL

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
	c.waitBeats(t, killed.Add(12*time.Second))
	c.stopBeats()
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
			switch {
			case b.err != nil:
				failed++
				t.Errorf("member %d: heartbeat at %v after the kill failed after %v: %v", i, b.at.Sub(killed).Round(time.Millisecond), b.took.Round(time.Millisecond), b.err)
			case b.count != 3 && (b.count != 4 || b.at.Before(killed)): // 4 once the newcomer joined
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
