package db

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sunoye/sunoye/rooms"
)

// Lease times of the tests: long enough never to lapse during a test;
// short enough to wait for; and short enough to wait for but long enough
// to be seen before it lapses, even on a loaded machine.
const (
	longTTL  = time.Minute
	shortTTL = 300 * time.Millisecond
	midTTL   = 2 * time.Second
)

// registryCases is the suite that runs against every backend. Each case
// uses its own random room numbers, so they share one registry and run in
// parallel.
var registryCases = []struct {
	name string
	run  func(t *testing.T, ctx context.Context, r *Registry)
}{
	{"CreateLookup", testCreateLookup},
	{"CreateActiveTaken", testCreateActiveTaken},
	{"CreateInactiveReplaces", testCreateInactiveReplaces},
	{"JoinUnknown", testJoinUnknown},
	{"JoinInactive", testJoinInactive},
	{"JoinOnlyOwnLease", testJoinOnlyOwnLease},
	{"JoinAgainRenews", testJoinAgainRenews},
	{"CountIsLiveLeases", testCountIsLiveLeases},
	{"LeaseLapses", testLeaseLapses},
	{"RoomLapsesInactive", testRoomLapsesInactive},
	{"RenewRestoresLapsed", testRenewRestoresLapsed},
	{"RenewReportsGone", testRenewReportsGone},
	{"RenewRestoresDeletedLease", testRenewRestoresDeletedLease},
	{"RenewManyRooms", testRenewManyRooms},
	{"LeaveLastMember", testLeaveLastMember},
	{"ConcurrentCreateSameNumber", testConcurrentCreateSameNumber},
	{"ConcurrentCreateDistinctNumbers", testConcurrentCreateDistinctNumbers},
	{"ConcurrentJoin", testConcurrentJoin},
	{"StatusView", testStatusView},
	{"BadInput", testBadInput},
}

func TestRegistry(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			r := open(t, b.dsn(t))
			for _, tc := range registryCases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, testCtx(t), r)
				})
			}
		})
	}
}

// create creates a new room with a lease of ttl for creator.
func create(t *testing.T, ctx context.Context, r *Registry, creator rooms.MemberID, ttl time.Duration) rooms.Record {
	t.Helper()
	rec, err := r.Create(ctx, newRecord(t), creator, ttl)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return rec
}

// join joins member to rec's room or fails the test.
func join(t *testing.T, ctx context.Context, r *Registry, rec rooms.Record, member rooms.MemberID, ttl time.Duration) {
	t.Helper()
	if err := r.Join(ctx, rec.ID, rec.Generation, member, ttl); err != nil {
		t.Fatalf("Join: %v", err)
	}
}

// status returns the room's status or fails the test.
func status(t *testing.T, ctx context.Context, r *Registry, id rooms.ID) rooms.Status {
	t.Helper()
	_, st, err := r.Lookup(ctx, id)
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	return st
}

// waitStatus polls until the room's status is want, or fails the test.
// Leases end by the database's clock, so the test waits for them rather
// than sleeping a fixed time.
func waitStatus(t *testing.T, ctx context.Context, r *Registry, id rooms.ID, want rooms.Status) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := status(t, ctx, r, id)
		if st == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("room %s: status %+v, want %+v", id, st, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testCreateLookup(t *testing.T, ctx context.Context, r *Registry) {
	want := newRecord(t)
	got, err := r.Create(ctx, want, newMember(), longTTL)
	if err != nil {
		t.Fatal(err)
	}
	want.Generation = 1
	if !sameRecord(got, want) {
		t.Errorf("Create returned %+v, want %+v", got, want)
	}
	rec, st, err := r.Lookup(ctx, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !sameRecord(rec, want) {
		t.Errorf("Lookup returned %+v, want %+v", rec, want)
	}
	if st != (rooms.Status{Members: 1, Active: true}) {
		t.Errorf("status %+v, want one member, active", st)
	}
	if _, _, err := r.Lookup(ctx, rooms.NewID()); !errors.Is(err, rooms.ErrNoSuchRoom) {
		t.Errorf("Lookup of an unknown room: %v, want ErrNoSuchRoom", err)
	}
}

func sameRecord(a, b rooms.Record) bool {
	return a.ID == b.ID && a.Generation == b.Generation && bytes.Equal(a.Salt, b.Salt) &&
		a.KDF == b.KDF && bytes.Equal(a.Verifier, b.Verifier)
}

func testCreateActiveTaken(t *testing.T, ctx context.Context, r *Registry) {
	creator := newMember()
	rec := create(t, ctx, r, creator, longTTL)
	again := newRecord(t)
	again.ID = rec.ID
	for _, m := range []rooms.MemberID{newMember(), creator} {
		if _, err := r.Create(ctx, again, m, longTTL); !errors.Is(err, rooms.ErrRoomTaken) {
			t.Errorf("Create of an active number: %v, want ErrRoomTaken", err)
		}
	}
	got, _, err := r.Lookup(ctx, rec.ID)
	if err != nil || !sameRecord(got, rec) {
		t.Errorf("after refused Create: %+v, %v; want the first record unchanged", got, err)
	}
}

func testCreateInactiveReplaces(t *testing.T, ctx context.Context, r *Registry) {
	old := newMember()
	first := create(t, ctx, r, old, shortTTL)
	waitStatus(t, ctx, r, first.ID, rooms.Status{})

	next := newRecord(t)
	next.ID = first.ID
	creator := newMember()
	second, err := r.Create(ctx, next, creator, longTTL)
	if err != nil {
		t.Fatalf("Create on an inactive number: %v", err)
	}
	if second.Generation != first.Generation+1 {
		t.Errorf("generation %d, want %d", second.Generation, first.Generation+1)
	}
	got, st, err := r.Lookup(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !sameRecord(got, second) {
		t.Errorf("Lookup %+v, want the new record %+v", got, second)
	}
	if st != (rooms.Status{Members: 1, Active: true}) {
		t.Errorf("status %+v, want only the new creator", st)
	}
	// The old member comes back with the old generation: its room is gone.
	if err := r.Join(ctx, first.ID, first.Generation, old, longTTL); !errors.Is(err, rooms.ErrRoomInactive) {
		t.Errorf("Join with the old generation: %v, want ErrRoomInactive", err)
	}
	counts, gone, err := r.Renew(ctx, old, []rooms.Lease{{Room: first.ID, Generation: first.Generation}}, longTTL)
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 0 || !slices.Equal(gone, []rooms.ID{first.ID}) {
		t.Errorf("Renew of the old generation: counts %v, gone %v; want the room gone", counts, gone)
	}
	if st := status(t, ctx, r, first.ID); st.Members != 1 {
		t.Errorf("old member counted after Renew: %+v", st)
	}
	// And a third generation once that one ends too.
	if err := r.Leave(ctx, first.ID, creator); err != nil {
		t.Fatal(err)
	}
	third, err := r.Create(ctx, next, newMember(), longTTL)
	if err != nil || third.Generation != 3 {
		t.Errorf("third Create: generation %d, %v; want 3", third.Generation, err)
	}
}

func testJoinUnknown(t *testing.T, ctx context.Context, r *Registry) {
	if err := r.Join(ctx, rooms.NewID(), 1, newMember(), longTTL); !errors.Is(err, rooms.ErrNoSuchRoom) {
		t.Errorf("Join of an unknown room: %v, want ErrNoSuchRoom", err)
	}
}

func testJoinInactive(t *testing.T, ctx context.Context, r *Registry) {
	rec := create(t, ctx, r, newMember(), shortTTL)
	waitStatus(t, ctx, r, rec.ID, rooms.Status{})
	err := r.Join(ctx, rec.ID, rec.Generation, newMember(), longTTL)
	if !errors.Is(err, rooms.ErrRoomInactive) {
		t.Errorf("Join of an inactive room: %v, want ErrRoomInactive", err)
	}
	if st := status(t, ctx, r, rec.ID); st != (rooms.Status{}) {
		t.Errorf("refused Join left status %+v", st)
	}
}

// A member's own live lease keeps the room active (rooms.Registry): a
// daemon alone in its room that crashes and restarts within the lease
// rejoins; once the lease has run out, the room is inactive.
func testJoinOnlyOwnLease(t *testing.T, ctx context.Context, r *Registry) {
	creator := newMember()
	rec := create(t, ctx, r, creator, shortTTL)
	if err := r.Join(ctx, rec.ID, rec.Generation, creator, shortTTL); err != nil {
		t.Errorf("Join with one's own live lease: %v, want success", err)
	}
	time.Sleep(2 * shortTTL)
	if err := r.Join(ctx, rec.ID, rec.Generation, creator, longTTL); !errors.Is(err, rooms.ErrRoomInactive) {
		t.Errorf("Join after one's own lease ran out: %v, want ErrRoomInactive", err)
	}
}

func testJoinAgainRenews(t *testing.T, ctx context.Context, r *Registry) {
	rec := create(t, ctx, r, newMember(), longTTL)
	m := newMember()
	join(t, ctx, r, rec, m, shortTTL)
	join(t, ctx, r, rec, m, longTTL) // renews rather than adds
	if st := status(t, ctx, r, rec.ID); st.Members != 2 {
		t.Errorf("members %d after joining twice, want 2", st.Members)
	}
	time.Sleep(2 * shortTTL)
	if st := status(t, ctx, r, rec.ID); st.Members != 2 {
		t.Errorf("members %d: the second Join did not extend the lease", st.Members)
	}
}

func testCountIsLiveLeases(t *testing.T, ctx context.Context, r *Registry) {
	rec := create(t, ctx, r, newMember(), longTTL)
	members := []rooms.MemberID{newMember(), newMember(), newMember()}
	for _, m := range members {
		join(t, ctx, r, rec, m, longTTL)
	}
	if st := status(t, ctx, r, rec.ID); st != (rooms.Status{Members: 4, Active: true}) {
		t.Errorf("status %+v, want 4 members", st)
	}
	if err := r.Leave(ctx, rec.ID, members[0]); err != nil {
		t.Fatal(err)
	}
	other := rooms.NewID()
	counts, err := r.Counts(ctx, []rooms.ID{rec.ID, other})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[rooms.ID]int{rec.ID: 3, other: 0}; !mapsEqual(counts, want) {
		t.Errorf("Counts %v, want %v", counts, want)
	}
}

func mapsEqual(a, b map[rooms.ID]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// A member that crashes stops renewing: after its lease time it is no
// longer counted, without anyone cleaning up.
func testLeaseLapses(t *testing.T, ctx context.Context, r *Registry) {
	rec := create(t, ctx, r, newMember(), longTTL)
	join(t, ctx, r, rec, newMember(), midTTL)
	if st := status(t, ctx, r, rec.ID); st.Members != 2 {
		t.Fatalf("members %d, want 2", st.Members)
	}
	waitStatus(t, ctx, r, rec.ID, rooms.Status{Members: 1, Active: true})
}

func testRoomLapsesInactive(t *testing.T, ctx context.Context, r *Registry) {
	rec := create(t, ctx, r, newMember(), shortTTL)
	join(t, ctx, r, rec, newMember(), shortTTL)
	waitStatus(t, ctx, r, rec.ID, rooms.Status{})
}

// A lease that lapsed while the member could not reach the registry is
// taken again by Renew, as long as nobody created the room anew.
func testRenewRestoresLapsed(t *testing.T, ctx context.Context, r *Registry) {
	m := newMember()
	rec := create(t, ctx, r, m, shortTTL)
	waitStatus(t, ctx, r, rec.ID, rooms.Status{})
	counts, gone, err := r.Renew(ctx, m, []rooms.Lease{{Room: rec.ID, Generation: rec.Generation}}, longTTL)
	if err != nil {
		t.Fatal(err)
	}
	if !mapsEqual(counts, map[rooms.ID]int{rec.ID: 1}) || len(gone) != 0 {
		t.Errorf("Renew: counts %v, gone %v; want the lease restored", counts, gone)
	}
	if st := status(t, ctx, r, rec.ID); st != (rooms.Status{Members: 1, Active: true}) {
		t.Errorf("status %+v after Renew, want active again", st)
	}
}

// A lease whose row is gone (a clean shutdown deletes it; so may someone
// tidying the table) is taken again by the next Renew while the room is
// the same generation: the member never left.
func testRenewRestoresDeletedLease(t *testing.T, ctx context.Context, r *Registry) {
	m := newMember()
	rec := create(t, ctx, r, newMember(), longTTL)
	join(t, ctx, r, rec, m, longTTL)
	if err := r.Leave(ctx, rec.ID, m); err != nil {
		t.Fatal(err)
	}
	counts, gone, err := r.Renew(ctx, m, []rooms.Lease{{Room: rec.ID, Generation: rec.Generation}}, longTTL)
	if err != nil {
		t.Fatal(err)
	}
	if !mapsEqual(counts, map[rooms.ID]int{rec.ID: 2}) || len(gone) != 0 {
		t.Errorf("Renew after the row was deleted: counts %v, gone %v; want the lease back", counts, gone)
	}
}

func testRenewReportsGone(t *testing.T, ctx context.Context, r *Registry) {
	m := newMember()
	rec := create(t, ctx, r, m, longTTL)
	unknown := rooms.NewID()
	// A room of another generation than the lease's: replaced meanwhile.
	other := create(t, ctx, r, newMember(), longTTL)
	leases := []rooms.Lease{
		{Room: rec.ID, Generation: rec.Generation},
		{Room: unknown, Generation: 1},
		{Room: other.ID, Generation: other.Generation + 1},
		{Room: rec.ID, Generation: rec.Generation}, // listed twice
	}
	counts, gone, err := r.Renew(ctx, m, leases, longTTL)
	if err != nil {
		t.Fatal(err)
	}
	if !mapsEqual(counts, map[rooms.ID]int{rec.ID: 1}) {
		t.Errorf("counts %v, want only %s", counts, rec.ID)
	}
	if !slices.Equal(gone, []rooms.ID{unknown, other.ID}) {
		t.Errorf("gone %v, want %v", gone, []rooms.ID{unknown, other.ID})
	}
	counts, gone, err = r.Renew(ctx, m, nil, longTTL)
	if err != nil || len(counts) != 0 || len(gone) != 0 {
		t.Errorf("Renew of nothing: %v, %v, %v", counts, gone, err)
	}
}

// One member in many rooms: one Renew renews all and counts each.
func testRenewManyRooms(t *testing.T, ctx context.Context, r *Registry) {
	m := newMember()
	var leases []rooms.Lease
	want := map[rooms.ID]int{}
	for i := range 12 {
		rec := create(t, ctx, r, newMember(), longTTL)
		join(t, ctx, r, rec, m, shortTTL)
		for range i % 3 {
			join(t, ctx, r, rec, newMember(), longTTL)
		}
		leases = append(leases, rooms.Lease{Room: rec.ID, Generation: rec.Generation})
		want[rec.ID] = 2 + i%3
	}
	time.Sleep(shortTTL) // some of m's leases lapse before the heartbeat
	counts, gone, err := r.Renew(ctx, m, leases, longTTL)
	if err != nil {
		t.Fatal(err)
	}
	if !mapsEqual(counts, want) || len(gone) != 0 {
		t.Errorf("Renew: counts %v, gone %v; want %v", counts, gone, want)
	}
}

func testLeaveLastMember(t *testing.T, ctx context.Context, r *Registry) {
	creator, m := newMember(), newMember()
	rec := create(t, ctx, r, creator, longTTL)
	join(t, ctx, r, rec, m, longTTL)
	for _, who := range []rooms.MemberID{creator, m} {
		if err := r.Leave(ctx, rec.ID, who); err != nil {
			t.Fatal(err)
		}
	}
	if st := status(t, ctx, r, rec.ID); st != (rooms.Status{}) {
		t.Errorf("status %+v after the last member left, want inactive", st)
	}
	if err := r.Join(ctx, rec.ID, rec.Generation, newMember(), longTTL); !errors.Is(err, rooms.ErrRoomInactive) {
		t.Errorf("Join after the last member left: %v, want ErrRoomInactive", err)
	}
	// Leaving a room one is not in, or that does not exist, is no error.
	if err := r.Leave(ctx, rec.ID, m); err != nil {
		t.Errorf("second Leave: %v", err)
	}
	if err := r.Leave(ctx, rooms.NewID(), m); err != nil {
		t.Errorf("Leave of an unknown room: %v", err)
	}
}

// Many daemons creating the same number at once (say, two people who agreed
// on a number): exactly one gets it.
func testConcurrentCreateSameNumber(t *testing.T, ctx context.Context, r *Registry) {
	id := rooms.NewID()
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			rec := newRecord(t)
			rec.ID = id
			<-start
			_, errs[i] = r.Create(ctx, rec, newMember(), longTTL)
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, rooms.ErrRoomTaken):
			t.Errorf("Create: %v, want success or ErrRoomTaken", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent Creates succeeded, want 1", ok, n)
	}
	if st := status(t, ctx, r, id); st.Members != 1 {
		t.Errorf("members %d, want 1", st.Members)
	}
}

// Creators of different numbers must not block or fail each other (with
// InnoDB, gap locks would make them deadlock).
func testConcurrentCreateDistinctNumbers(t *testing.T, ctx context.Context, r *Registry) {
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			rec := newRecord(t)
			<-start
			_, errs[i] = r.Create(ctx, rec, newMember(), longTTL)
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Errorf("Create: %v", err)
		}
	}
}

// joinAtOnce has n new members join rec at the same moment, member i
// through reg(i), and fails the test for every join that fails.
func joinAtOnce(t *testing.T, ctx context.Context, rec rooms.Record, n int, reg func(i int) *Registry) {
	t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		r := reg(i)
		wg.Go(func() {
			m := newMember()
			<-start
			errs[i] = r.Join(ctx, rec.ID, rec.Generation, m, longTTL)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Join %d: %v", i, err)
		}
	}
}

func testConcurrentJoin(t *testing.T, ctx context.Context, r *Registry) {
	rec := create(t, ctx, r, newMember(), longTTL)
	const n = 20
	joinAtOnce(t, ctx, rec, n, func(int) *Registry { return r })
	if st := status(t, ctx, r, rec.ID); st.Members != n+1 {
		t.Errorf("members %d after %d concurrent joins, want %d", st.Members, n, n+1)
	}
}

// The view for humans says what Lookup says.
func testStatusView(t *testing.T, ctx context.Context, r *Registry) {
	rec := create(t, ctx, r, newMember(), longTTL)
	join(t, ctx, r, rec, newMember(), longTTL)
	join(t, ctx, r, rec, newMember(), shortTTL)
	lapsed := create(t, ctx, r, newMember(), shortTTL)
	waitStatus(t, ctx, r, rec.ID, rooms.Status{Members: 2, Active: true})
	waitStatus(t, ctx, r, lapsed.ID, rooms.Status{})

	rows, err := r.db.QueryContext(ctx, "SELECT * FROM sunoye_room_status WHERE room_no IN (?, ?) ORDER BY room_no", string(rec.ID), string(lapsed.ID))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if !slices.Equal(cols, []string{"room_no", "members", "active"}) {
		t.Errorf("view columns %v", cols)
	}
	got := map[rooms.ID]rooms.Status{}
	for rows.Next() {
		var (
			id      string
			members int
			active  bool
		)
		if err := rows.Scan(&id, &members, &active); err != nil {
			t.Fatal(err)
		}
		got[rooms.ID(id)] = rooms.Status{Members: members, Active: active}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := map[rooms.ID]rooms.Status{rec.ID: {Members: 2, Active: true}, lapsed.ID: {}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("view says %v, want %v", got, want)
	}
}

func testBadInput(t *testing.T, ctx context.Context, r *Registry) {
	bad := newRecord(t)
	bad.ID = "12345"
	if _, err := r.Create(ctx, bad, newMember(), longTTL); !errors.Is(err, rooms.ErrBadRoomNumber) {
		t.Errorf("Create with a bad number: %v, want ErrBadRoomNumber", err)
	}
	for name, rec := range map[string]rooms.Record{
		"no salt":     {ID: rooms.NewID(), Verifier: []byte{1}},
		"no verifier": {ID: rooms.NewID(), Salt: []byte{1}},
		"long salt":   {ID: rooms.NewID(), Salt: make([]byte, 256), Verifier: []byte{1}},
	} {
		if _, err := r.Create(ctx, rec, newMember(), longTTL); !errors.Is(err, rooms.ErrInvalid) {
			t.Errorf("Create with %s: %v, want ErrInvalid", name, err)
		}
	}
	rec := create(t, ctx, r, newMember(), longTTL)
	if err := r.Join(ctx, rec.ID, rec.Generation, newMember(), 0); !errors.Is(err, rooms.ErrInvalid) {
		t.Errorf("Join with no lease time: %v, want ErrInvalid", err)
	}
	long := rooms.MemberID(bytes.Repeat([]byte("x"), maxMemberID+1))
	if err := r.Join(ctx, rec.ID, rec.Generation, long, longTTL); !errors.Is(err, rooms.ErrInvalid) {
		t.Errorf("Join with a long member id: %v, want ErrInvalid", err)
	}
	if _, _, err := r.Renew(ctx, "", nil, longTTL); !errors.Is(err, rooms.ErrInvalid) {
		t.Errorf("Renew without member: %v, want ErrInvalid", err)
	}
}
