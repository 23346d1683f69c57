package db

import (
	"context"
	"testing"
	"time"

	"github.com/sunoye/sunoye/rooms"
)

// TestGaleraFrozenNode: as TestGaleraFailover, but the node of the second
// member is frozen (SIGSTOP: its connections stay open, nothing is
// answered) instead of killed, then thawed, and rejoins the cluster. The
// member's calls time out on it and move to another node; no heartbeat
// fails, no lease lapses.
func TestGaleraFrozenNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := startConversation(t, ctx, "frozen")
	g, regs := c.g, c.regs
	const ttl = convTTL

	frozen := time.Now()
	g.Node(1).Freeze(t)
	thawed := false
	thaw := func() {
		if !thawed {
			thawed = true
			g.Node(1).Thaw(t)
			start := time.Now()
			g.WaitSynced(t)
			t.Logf("node 1 thawed, rejoined and synced in %v", time.Since(start).Round(100*time.Millisecond))
		}
	}
	t.Cleanup(thaw)

	// B's next call, a join of a new room, times out on its frozen node
	// and goes to another.
	rec2, _ := create(t, ctx, regs[0], ttl)
	created := time.Since(frozen)
	join(t, ctx, regs[1], rec2, ttl)
	joined := time.Since(frozen)
	if st := status(t, ctx, regs[2], rec2.ID); st != (rooms.Status{Members: 2, Active: true}) {
		t.Errorf("new room on C's node: %+v, want 2 members", st)
	}
	t.Logf("node 1 frozen: A's create succeeded after %v, B's join after %v", created.Round(time.Millisecond), joined.Round(time.Millisecond))
	c.waitBeats(t, frozen.Add(12*time.Second))
	c.stopBeats()
	for i := range c.hb {
		failed := 0
		var slowest time.Duration
		beats := c.hb[i].since(c.began)
		for _, b := range beats {
			if b.err != nil || b.count != 3 {
				failed++
				t.Errorf("member %d: heartbeat at %v after the freeze: %d leases, %v", i, b.at.Sub(frozen).Round(time.Millisecond), b.count, b.err)
			}
			if b.at.After(frozen) {
				slowest = max(slowest, b.took)
			}
		}
		t.Logf("member %d (node %d first): %d of %d heartbeats failed; slowest after the freeze %v", i, c.orders[i][0], failed, len(beats), slowest.Round(time.Millisecond))
	}
	thaw()
}
