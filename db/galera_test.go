package db

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
)

// syncWait is the DSN parameter that docs/scaling.md tells Galera users to
// add: the driver sets it as a session variable, and the node then waits
// for every write the cluster committed before a transaction starts
// (1: reads and BEGIN) or an UPDATE or DELETE runs (2), so that a daemon
// sees what another daemon wrote through another node a moment ago.
const syncWait = "?wsrep_sync_wait=3"

// TestGalera runs the registry on the package's three-node Galera cluster
// (MariaDB's synchronous multi-primary replication): the shared suite on
// one node, then registries on two nodes at once, as daemons behind a load
// balancer spreading them over the nodes would be.
func TestGalera(t *testing.T) {
	g := testenv.SharedGalera(t)

	t.Run("Registry", func(t *testing.T) {
		r := open(t, g.NewDatabase(t, "suite")[0])
		for _, tc := range registryCases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.run(t, testCtx(t), r)
			})
		}
	})

	// The schema is applied once, through one node, before daemons start
	// on the others, as docs/scaling.md says: two nodes running
	// CREATE OR REPLACE VIEW at the same moment hang one of them in
	// MariaDB 10.11 (the statement aborted by the other node's keeps its
	// metadata lock while waiting for its turn, and the other waits for
	// that lock), which daemons starting together on an empty database
	// would do. Once the schema is there, a daemon's start runs no DDL, so
	// the others may start together.
	dsns := g.NewDatabase(t, "nodes")
	var regs, waiting [2]*Registry
	regs[0] = open(t, dsns[0])
	// Daemons starting together on both nodes: each node waits until it
	// has applied the schema, so none of them applies it again.
	var (
		wg   sync.WaitGroup
		errs [2]error
	)
	for i := range waiting {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			waiting[i], errs[i] = Open(ctx, dsns[i]+syncWait)
		})
	}
	wg.Wait()
	for _, r := range waiting {
		if r != nil {
			t.Cleanup(func() { r.Close() })
		}
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open on node %d: %v", i, err)
		}
	}
	// Node 1 has applied the schema now: this one finds it too.
	regs[1] = open(t, dsns[1])
	nodes := twoNodes{r: regs, sync: waiting, g: g}

	t.Run("SyncWaitSetting", nodes.testSyncWaitSetting)
	t.Run("CreateRace", nodes.testCreateRace)
	t.Run("RecreateRace", nodes.testRecreateRace)
	t.Run("JoinRace", nodes.testJoinRace)
	t.Run("LeasesAcrossNodes", nodes.testLeasesAcrossNodes)
	t.Run("StaleReadWithoutSyncWait", nodes.testStaleRead)
}

// twoNodes is a registry on each node of a Galera cluster, both on one
// database.
type twoNodes struct {
	r [2]*Registry
	// sync are registries on the same nodes with syncWait: each sees
	// every write the other node committed before.
	sync [2]*Registry
	g    *testenv.Galera
}

// The DSN parameter reaches the session of every connection.
func (n twoNodes) testSyncWaitSetting(t *testing.T) {
	ctx := testCtx(t)
	for name, c := range map[string]struct {
		r    *Registry
		want int
	}{"with": {n.sync[1], 3}, "without": {n.r[1], 0}} {
		var v int
		if err := c.r.db.QueryRowContext(ctx, "SELECT @@session.wsrep_sync_wait").Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v != c.want {
			t.Errorf("%s %s: wsrep_sync_wait = %d, want %d", name, syncWait, v, c.want)
		}
	}
}

// conflicts returns how many transactions the cluster has refused so far
// because another node committed a conflicting one first: those that failed
// certification at commit, and those that a replicated write aborted while
// they ran. Both reach the client as error 1213, which the registry
// retries.
func (n twoNodes) conflicts(t *testing.T) int64 {
	t.Helper()
	var sum int64
	for i := range n.g.Nodes() {
		db := testenv.SQL(t, n.g.DSN(i))
		var v int64
		err := db.QueryRow(`SELECT SUM(variable_value) FROM information_schema.global_status
			WHERE variable_name IN ('wsrep_local_cert_failures', 'wsrep_local_bf_aborts')`).Scan(&v)
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		sum += v
	}
	return sum
}

// maxRaceRounds bounds the rounds a race test runs to see the cluster
// refuse at least one conflicting transaction: on two nodes of one machine
// the first round almost always does.
const maxRaceRounds = 20

// raceCreate has perNode creators on each node create room id at once, and
// returns the records of those that succeeded. The others must be told the
// room is taken.
func (n twoNodes) raceCreate(t *testing.T, ctx context.Context, id rooms.ID, perNode int) []rooms.Record {
	t.Helper()
	var (
		mu  sync.Mutex
		won []rooms.Record
		wg  sync.WaitGroup
	)
	start := make(chan struct{})
	for i := range 2 * perNode {
		r := n.r[i%2]
		wg.Go(func() {
			rec := newRecord(t)
			rec.ID = id
			<-start
			got, err := r.Create(ctx, rec, newMember(rec), longTTL)
			switch {
			case err == nil:
				mu.Lock()
				won = append(won, got)
				mu.Unlock()
			case !errors.Is(err, rooms.ErrRoomTaken):
				t.Errorf("Create on node %d: %v, want success or ErrRoomTaken", i%2, err)
			}
		})
	}
	close(start)
	wg.Wait()
	return won
}

// Creators of one new number on both nodes at once: exactly one gets it,
// whichever node it used, and both nodes then say the room has one member.
// Galera refuses the losers' INSERTs at commit (certification) or aborts
// them while they run; the registry retries them, and then they find the
// room taken.
func (n twoNodes) testCreateRace(t *testing.T) {
	ctx := testCtx(t)
	before := n.conflicts(t)
	rounds := 0
	for rounds < maxRaceRounds && (rounds == 0 || n.conflicts(t) == before) {
		rounds++
		id := rooms.NewID()
		if won := n.raceCreate(t, ctx, id, 5); len(won) != 1 {
			t.Fatalf("round %d: %d of 10 Creates of one number on two nodes succeeded, want 1", rounds, len(won))
		}
		n.wantStatus(t, ctx, id, rooms.Status{Members: 1, Active: true})
	}
	n.wantConflicts(t, before, rounds)
}

// An inactive number created again on both nodes at once: one creator
// gets generation 2. The losers' transactions locked the room row only on
// their own node (SELECT … FOR UPDATE is not replicated); it is Galera's
// certification of the row they all update that stops them.
func (n twoNodes) testRecreateRace(t *testing.T) {
	ctx := testCtx(t)
	before := n.conflicts(t)
	rounds := 0
	for rounds < maxRaceRounds && (rounds == 0 || n.conflicts(t) == before) {
		rounds++
		first, _ := create(t, ctx, n.r[0], shortTTL)
		n.waitStatus(t, ctx, first.ID, rooms.Status{})
		won := n.raceCreate(t, ctx, first.ID, 5)
		if len(won) != 1 {
			t.Fatalf("round %d: %d of 10 Creates of an inactive number on two nodes succeeded, want 1", rounds, len(won))
		}
		if won[0].Generation != first.Generation+1 {
			t.Errorf("round %d: generation %d, want %d", rounds, won[0].Generation, first.Generation+1)
		}
		n.wantStatus(t, ctx, first.ID, rooms.Status{Members: 1, Active: true})
	}
	n.wantConflicts(t, before, rounds)
}

// wantConflicts fails the test if the cluster refused no transaction in
// rounds rounds of a race: the race then never happened across the nodes,
// and the test proved nothing about them.
func (n twoNodes) wantConflicts(t *testing.T, before int64, rounds int) {
	t.Helper()
	c := n.conflicts(t) - before
	t.Logf("%d round(s), %d transaction(s) refused by the cluster and retried", rounds, c)
	if c == 0 {
		t.Errorf("no conflict between the nodes in %d rounds", rounds)
	}
}

// Joiners on both nodes at once: every join counts, exactly once, on
// either node.
func (n twoNodes) testJoinRace(t *testing.T) {
	ctx := testCtx(t)
	rec, _ := create(t, ctx, n.r[0], longTTL)
	n.waitStatus(t, ctx, rec.ID, rooms.Status{Members: 1, Active: true})
	const perNode = 10
	joinAtOnce(t, ctx, rec, 2*perNode, func(i int) *Registry { return n.r[i%2] }) // even i on node 0, odd on node 1
	n.wantStatus(t, ctx, rec.ID, rooms.Status{Members: 2*perNode + 1, Active: true})
}

// A lease renewed on one node is live on the other (a daemon whose
// connection moved to another node keeps its rooms), a leave on one node
// is seen on the other, and a lease that lapses lapses everywhere: lease
// ends are times written by the node that renews them and compared with
// the clock of the node that counts.
func (n twoNodes) testLeasesAcrossNodes(t *testing.T) {
	ctx := testCtx(t)
	rec, _ := create(t, ctx, n.r[0], longTTL)
	m := join(t, ctx, n.r[0], rec, shortTTL)
	counts, gone, err := n.sync[1].Renew(ctx, []rooms.Lease{lease(rec, m)}, longTTL)
	if err != nil {
		t.Fatal(err)
	}
	if counts[rec.ID] != 2 || len(gone) != 0 {
		t.Errorf("Renew on node 1 right after the join on node 0: counts %v, gone %v; want 2 members", counts, gone)
	}
	join(t, ctx, n.sync[1], rec, shortTTL)
	time.Sleep(2 * shortTTL) // the join's lease of m has ended; only the renewal on node 1 keeps it
	n.wantStatus(t, ctx, rec.ID, rooms.Status{Members: 2, Active: true})
	if err := n.r[1].Leave(ctx, rec.ID, m.Token); err != nil {
		t.Fatal(err)
	}
	n.waitStatus(t, ctx, rec.ID, rooms.Status{Members: 1, Active: true})
}

// Without syncWait a node may answer before it has applied what another
// node committed: here node 1 is held (FLUSH TABLES WITH READ LOCK pauses
// its replication applier, as a node busy catching up would be), so a room
// just created on node 0 is unknown on node 1. With syncWait, node 1 waits
// until it has caught up, then finds the room.
func (n twoNodes) testStaleRead(t *testing.T) {
	ctx := testCtx(t)
	node1 := testenv.SQL(t, n.g.DSN(1))
	lock, err := node1.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := lock.ExecContext(ctx, "FLUSH TABLES WITH READ LOCK"); err != nil {
		t.Fatal(err)
	}
	unlocked := false
	unlock := func() {
		if !unlocked {
			unlocked = true
			if _, err := lock.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer unlock()

	rec, _ := create(t, ctx, n.r[0], longTTL)
	if _, _, err := n.r[1].Lookup(ctx, rec.ID); !errors.Is(err, rooms.ErrNoSuchRoom) {
		t.Errorf("Lookup on the held node without %s: %v, want ErrNoSuchRoom (a stale read)", syncWait, err)
	}
	type result struct {
		st  rooms.Status
		err error
	}
	done := make(chan result, 1)
	go func() {
		_, st, err := n.sync[1].Lookup(ctx, rec.ID)
		done <- result{st, err}
	}()
	// The lookup must be waiting on node 1 before it is let go, or it
	// would prove nothing. MariaDB shows the statement of sunoye_lookup
	// that waits, rather than the CALL.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		err := node1.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.processlist
			WHERE id <> CONNECTION_ID() AND command = 'Query' AND info LIKE '%FROM sunoye_rooms r%WHERE r.room_no%'`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		select {
		case r := <-done:
			t.Fatalf("Lookup with %s returned %+v, %v while node 1 was held; want it to wait", syncWait, r.st, r.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the lookup with syncWait never showed up on node 1")
		}
		time.Sleep(20 * time.Millisecond)
	}
	unlock()
	r := <-done
	if r.err != nil || r.st != (rooms.Status{Members: 1, Active: true}) {
		t.Errorf("Lookup with %s: %+v, %v; want the room with one member", syncWait, r.st, r.err)
	}
}

// wantStatus checks the room's status on both nodes, read with syncWait so
// that each has applied everything the other committed.
func (n twoNodes) wantStatus(t *testing.T, ctx context.Context, id rooms.ID, want rooms.Status) {
	t.Helper()
	for i, r := range n.sync {
		if st := status(t, ctx, r, id); st != want {
			t.Errorf("node %d: room %s has status %+v, want %+v", i, id, st, want)
		}
	}
}

// waitStatus waits until both nodes see the room's status as want, read
// with syncWait so that a room just created on one node is known on the
// other.
func (n twoNodes) waitStatus(t *testing.T, ctx context.Context, id rooms.ID, want rooms.Status) {
	t.Helper()
	for _, r := range n.sync {
		waitStatus(t, ctx, r, id, want)
	}
}
