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
	{"CreateNeedsProof", testCreateNeedsProof},
	{"JoinUnknown", testJoinUnknown},
	{"JoinInactive", testJoinInactive},
	{"JoinWrongProof", testJoinWrongProof},
	{"JoinOnlyOwnLease", testJoinOnlyOwnLease},
	{"JoinAgainRenews", testJoinAgainRenews},
	{"CountIsLiveLeases", testCountIsLiveLeases},
	{"LeaseLapses", testLeaseLapses},
	{"LeaseTimeCapped", testLeaseTimeCapped},
	{"RoomLapsesInactive", testRoomLapsesInactive},
	{"RenewRestoresLapsed", testRenewRestoresLapsed},
	{"RenewReportsGone", testRenewReportsGone},
	{"RenewRestoresDeletedLease", testRenewRestoresDeletedLease},
	{"RenewRestoreNeedsProof", testRenewRestoreNeedsProof},
	{"RenewManyRooms", testRenewManyRooms},
	{"OnlyHolderRenewsOrLeaves", testOnlyHolderRenewsOrLeaves},
	{"LeaveLastMember", testLeaveLastMember},
	{"ReregisterLost", testReregisterLost},
	{"ReregisterSame", testReregisterSame},
	{"ReregisterOther", testReregisterOther},
	{"LegacyRoom", testLegacyRoom},
	{"ConcurrentCreateSameNumber", testConcurrentCreateSameNumber},
	{"ConcurrentCreateDistinctNumbers", testConcurrentCreateDistinctNumbers},
	{"ConcurrentJoin", testConcurrentJoin},
	{"StatusView", testStatusView},
	{"NoMemberStored", testNoMemberStored},
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

// create creates a new room with a lease of ttl for a new member, and
// returns the room and the member.
func create(t *testing.T, ctx context.Context, r *Registry, ttl time.Duration) (rooms.Record, rooms.Credentials) {
	t.Helper()
	rec := newRecord(t)
	m := newMember(rec)
	rec, err := r.Create(ctx, rec, m, ttl)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return rec, m
}

// join has a new member join rec's room, or fails the test, and returns
// the member.
func join(t *testing.T, ctx context.Context, r *Registry, rec rooms.Record, ttl time.Duration) rooms.Credentials {
	t.Helper()
	m := newMember(rec)
	rejoin(t, ctx, r, rec, m, ttl)
	return m
}

// rejoin has member m join rec's room, or fails the test.
func rejoin(t *testing.T, ctx context.Context, r *Registry, rec rooms.Record, m rooms.Credentials, ttl time.Duration) {
	t.Helper()
	if err := r.Join(ctx, rec.ID, rec.Generation, m, ttl); err != nil {
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

// renew1 renews one lease and returns the room's count, or -1 if Renew
// said the room is gone.
func renew1(t *testing.T, ctx context.Context, r *Registry, l rooms.Lease, ttl time.Duration) int {
	t.Helper()
	counts, gone, err := r.Renew(ctx, []rooms.Lease{l}, ttl)
	if err != nil {
		t.Fatalf("Renew: %v", err)
	}
	if slices.Equal(gone, []rooms.ID{l.Room}) && len(counts) == 0 {
		return -1
	}
	n, ok := counts[l.Room]
	if !ok || len(gone) != 0 {
		t.Fatalf("Renew: counts %v, gone %v", counts, gone)
	}
	return n
}

func testCreateLookup(t *testing.T, ctx context.Context, r *Registry) {
	want := newRecord(t)
	got, err := r.Create(ctx, want, newMember(want), longTTL)
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

// Nobody can take over a live room's number, nor change its salt,
// parameters or verifier: not its members, not others.
func testCreateActiveTaken(t *testing.T, ctx context.Context, r *Registry) {
	rec, creator := create(t, ctx, r, longTTL)
	again := newRecord(t)
	again.ID = rec.ID
	for _, m := range []rooms.Credentials{newMember(again), {Proof: proofOf(again), Token: creator.Token}} {
		if _, err := r.Create(ctx, again, m, longTTL); !errors.Is(err, rooms.ErrRoomTaken) {
			t.Errorf("Create of an active number: %v, want ErrRoomTaken", err)
		}
	}
	got, st, err := r.Lookup(ctx, rec.ID)
	if err != nil || !sameRecord(got, rec) || st.Members != 1 {
		t.Errorf("after refused Create: %+v, %+v, %v; want the first record unchanged, one member", got, st, err)
	}
}

func testCreateInactiveReplaces(t *testing.T, ctx context.Context, r *Registry) {
	first, old := create(t, ctx, r, shortTTL)
	waitStatus(t, ctx, r, first.ID, rooms.Status{})

	next := newRecord(t)
	next.ID = first.ID
	creator := newMember(next)
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
	if n := renew1(t, ctx, r, lease(first, old), longTTL); n != -1 {
		t.Errorf("Renew of the old generation: count %d, want the room gone", n)
	}
	if st := status(t, ctx, r, first.ID); st.Members != 1 {
		t.Errorf("old member counted after Renew: %+v", st)
	}
	// And a third generation once that one ends too.
	if err := r.Leave(ctx, first.ID, creator.Token); err != nil {
		t.Fatal(err)
	}
	third, err := r.Create(ctx, next, newMember(next), longTTL)
	if err != nil || third.Generation != 3 {
		t.Errorf("third Create: generation %d, %v; want 3", third.Generation, err)
	}
}

// A room is created only with a verifier of schema 2 and the proof that
// matches it.
func testCreateNeedsProof(t *testing.T, ctx context.Context, r *Registry) {
	rec := newRecord(t)
	wrong := newMember(newRecord(t))
	if _, err := r.Create(ctx, rec, wrong, longTTL); !errors.Is(err, rooms.ErrWrongPassword) {
		t.Errorf("Create with another room's proof: %v, want ErrWrongPassword", err)
	}
	legacy := rec
	legacy.Verifier = randomBytes(32)
	if _, err := r.Create(ctx, legacy, newMember(rec), longTTL); !errors.Is(err, rooms.ErrInvalid) {
		t.Errorf("Create with a legacy verifier: %v, want ErrInvalid", err)
	}
	if _, _, err := r.Lookup(ctx, rec.ID); !errors.Is(err, rooms.ErrNoSuchRoom) {
		t.Errorf("after refused Creates: %v, want no room", err)
	}
}

func testJoinUnknown(t *testing.T, ctx context.Context, r *Registry) {
	rec := newRecord(t)
	if err := r.Join(ctx, rec.ID, 1, newMember(rec), longTTL); !errors.Is(err, rooms.ErrNoSuchRoom) {
		t.Errorf("Join of an unknown room: %v, want ErrNoSuchRoom", err)
	}
}

func testJoinInactive(t *testing.T, ctx context.Context, r *Registry) {
	rec, _ := create(t, ctx, r, shortTTL)
	waitStatus(t, ctx, r, rec.ID, rooms.Status{})
	err := r.Join(ctx, rec.ID, rec.Generation, newMember(rec), longTTL)
	if !errors.Is(err, rooms.ErrRoomInactive) {
		t.Errorf("Join of an inactive room: %v, want ErrRoomInactive", err)
	}
	if st := status(t, ctx, r, rec.ID); st != (rooms.Status{}) {
		t.Errorf("refused Join left status %+v", st)
	}
}

// Without the room's proof nobody adds a lease: not by joining, not by
// renewing a lease they never had.
func testJoinWrongProof(t *testing.T, ctx context.Context, r *Registry) {
	rec, _ := create(t, ctx, r, longTTL)
	stranger := newMember(newRecord(t))
	if err := r.Join(ctx, rec.ID, rec.Generation, stranger, longTTL); !errors.Is(err, rooms.ErrWrongPassword) {
		t.Errorf("Join with a wrong proof: %v, want ErrWrongPassword", err)
	}
	if n := renew1(t, ctx, r, lease(rec, stranger), longTTL); n != -1 {
		t.Errorf("Renew of a lease never held, with a wrong proof: count %d, want the room reported gone", n)
	}
	if st := status(t, ctx, r, rec.ID); st.Members != 1 {
		t.Errorf("members %d after a stranger tried, want 1", st.Members)
	}
}

// A member's own live lease keeps the room active (rooms.Registry): a
// daemon alone in its room that crashes and restarts within the lease
// rejoins; once the lease has run out, the room is inactive.
func testJoinOnlyOwnLease(t *testing.T, ctx context.Context, r *Registry) {
	rec, creator := create(t, ctx, r, shortTTL)
	if err := r.Join(ctx, rec.ID, rec.Generation, creator, shortTTL); err != nil {
		t.Errorf("Join with one's own live lease: %v, want success", err)
	}
	waitStatus(t, ctx, r, rec.ID, rooms.Status{})
	if err := r.Join(ctx, rec.ID, rec.Generation, creator, longTTL); !errors.Is(err, rooms.ErrRoomInactive) {
		t.Errorf("Join after one's own lease ran out: %v, want ErrRoomInactive", err)
	}
}

func testJoinAgainRenews(t *testing.T, ctx context.Context, r *Registry) {
	rec, _ := create(t, ctx, r, longTTL)
	m := join(t, ctx, r, rec, shortTTL)
	rejoin(t, ctx, r, rec, m, longTTL) // renews rather than adds
	if st := status(t, ctx, r, rec.ID); st.Members != 2 {
		t.Errorf("members %d after joining twice, want 2", st.Members)
	}
	time.Sleep(2 * shortTTL)
	if st := status(t, ctx, r, rec.ID); st.Members != 2 {
		t.Errorf("members %d: the second Join did not extend the lease", st.Members)
	}
}

func testCountIsLiveLeases(t *testing.T, ctx context.Context, r *Registry) {
	rec, _ := create(t, ctx, r, longTTL)
	var members []rooms.Credentials
	for range 3 {
		members = append(members, join(t, ctx, r, rec, longTTL))
	}
	if st := status(t, ctx, r, rec.ID); st != (rooms.Status{Members: 4, Active: true}) {
		t.Errorf("status %+v, want 4 members", st)
	}
	if err := r.Leave(ctx, rec.ID, members[0].Token); err != nil {
		t.Fatal(err)
	}
	if n := renew1(t, ctx, r, lease(rec, members[1]), longTTL); n != 3 {
		t.Errorf("Renew counts %d, want 3", n)
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
	rec, _ := create(t, ctx, r, longTTL)
	join(t, ctx, r, rec, midTTL)
	if st := status(t, ctx, r, rec.ID); st.Members != 2 {
		t.Fatalf("members %d, want 2", st.Members)
	}
	waitStatus(t, ctx, r, rec.ID, rooms.Status{Members: 1, Active: true})
}

// leaseEnds returns how long from now, by the database's clock, the
// leases of room id last, the longest first.
func leaseEnds(t *testing.T, ctx context.Context, r *Registry, id rooms.ID) []time.Duration {
	t.Helper()
	rows, err := r.db.QueryContext(ctx, r.dialect.sql("SELECT expires_at - {now} FROM sunoye_leases WHERE room_no = ? ORDER BY expires_at DESC"), string(id))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ends []time.Duration
	for rows.Next() {
		var ms int64
		if err := rows.Scan(&ms); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, time.Duration(ms)*time.Millisecond)
	}
	return ends
}

// Nobody holds a room open with a lease of a year: creating, joining,
// renewing and re-registering cap the lease at maxTTL.
func testLeaseTimeCapped(t *testing.T, ctx context.Context, r *Registry) {
	const year = 365 * 24 * time.Hour
	rec, creator := create(t, ctx, r, year)
	m := join(t, ctx, r, rec, year)
	renew1(t, ctx, r, lease(rec, m), year)
	if err := r.Reregister(ctx, rec, newMember(rec), year); err != nil {
		t.Fatal(err)
	}
	ends := leaseEnds(t, ctx, r, rec.ID)
	if len(ends) != 3 {
		t.Fatalf("%d leases, want 3", len(ends))
	}
	if ends[0] > maxTTL || ends[len(ends)-1] < maxTTL-time.Minute {
		t.Errorf("leases end in %v, want at most %v", ends, maxTTL)
	}
	_ = creator
}

func testRoomLapsesInactive(t *testing.T, ctx context.Context, r *Registry) {
	rec, _ := create(t, ctx, r, shortTTL)
	join(t, ctx, r, rec, shortTTL)
	waitStatus(t, ctx, r, rec.ID, rooms.Status{})
}

// A lease that lapsed while the member could not reach the registry is
// taken again by Renew, as long as nobody created the room anew.
func testRenewRestoresLapsed(t *testing.T, ctx context.Context, r *Registry) {
	rec, m := create(t, ctx, r, shortTTL)
	waitStatus(t, ctx, r, rec.ID, rooms.Status{})
	if n := renew1(t, ctx, r, lease(rec, m), longTTL); n != 1 {
		t.Errorf("Renew: count %d, want the lease restored", n)
	}
	if st := status(t, ctx, r, rec.ID); st != (rooms.Status{Members: 1, Active: true}) {
		t.Errorf("status %+v after Renew, want active again", st)
	}
}

// A lease whose row is gone (a clean shutdown deletes it; so may an
// administrator tidying the table) is taken again by the next Renew while
// the room is the same generation: the member never left.
func testRenewRestoresDeletedLease(t *testing.T, ctx context.Context, r *Registry) {
	rec, _ := create(t, ctx, r, longTTL)
	m := join(t, ctx, r, rec, longTTL)
	if err := r.Leave(ctx, rec.ID, m.Token); err != nil {
		t.Fatal(err)
	}
	if n := renew1(t, ctx, r, lease(rec, m), longTTL); n != 2 {
		t.Errorf("Renew after the row was deleted: count %d, want the lease back", n)
	}
}

// Restoring a lease takes the room's proof, as joining does.
func testRenewRestoreNeedsProof(t *testing.T, ctx context.Context, r *Registry) {
	rec, _ := create(t, ctx, r, longTTL)
	m := join(t, ctx, r, rec, longTTL)
	if err := r.Leave(ctx, rec.ID, m.Token); err != nil {
		t.Fatal(err)
	}
	forged := m
	forged.Proof = proofOf(newRecord(t))
	if n := renew1(t, ctx, r, lease(rec, forged), longTTL); n != -1 {
		t.Errorf("Renew of a deleted lease with a wrong proof: count %d, want the room reported gone", n)
	}
	if st := status(t, ctx, r, rec.ID); st.Members != 1 {
		t.Errorf("members %d, want 1", st.Members)
	}
}

func testRenewReportsGone(t *testing.T, ctx context.Context, r *Registry) {
	rec, m := create(t, ctx, r, longTTL)
	unknown := newRecord(t)
	unknown.Generation = 1
	// A room of another generation than the lease's: replaced meanwhile.
	other, _ := create(t, ctx, r, longTTL)
	otherLease := lease(other, newMember(other))
	otherLease.Generation++
	leases := []rooms.Lease{
		lease(rec, m),
		lease(unknown, newMember(unknown)),
		otherLease,
		lease(rec, m), // listed twice
	}
	counts, gone, err := r.Renew(ctx, leases, longTTL)
	if err != nil {
		t.Fatal(err)
	}
	if !mapsEqual(counts, map[rooms.ID]int{rec.ID: 1}) {
		t.Errorf("counts %v, want only %s", counts, rec.ID)
	}
	if !slices.Equal(gone, []rooms.ID{unknown.ID, other.ID}) {
		t.Errorf("gone %v, want %v", gone, []rooms.ID{unknown.ID, other.ID})
	}
	counts, gone, err = r.Renew(ctx, nil, longTTL)
	if err != nil || len(counts) != 0 || len(gone) != 0 {
		t.Errorf("Renew of nothing: %v, %v, %v", counts, gone, err)
	}
}

// One member in many rooms: one Renew renews all and counts each.
func testRenewManyRooms(t *testing.T, ctx context.Context, r *Registry) {
	var leases []rooms.Lease
	want := map[rooms.ID]int{}
	for i := range 12 {
		rec, _ := create(t, ctx, r, longTTL)
		m := join(t, ctx, r, rec, shortTTL)
		for range i % 3 {
			join(t, ctx, r, rec, longTTL)
		}
		leases = append(leases, lease(rec, m))
		want[rec.ID] = 2 + i%3
	}
	time.Sleep(shortTTL) // some of m's leases lapse before the heartbeat
	counts, gone, err := r.Renew(ctx, leases, longTTL)
	if err != nil {
		t.Fatal(err)
	}
	if !mapsEqual(counts, want) || len(gone) != 0 {
		t.Errorf("Renew: counts %v, gone %v; want %v", counts, gone, want)
	}
}

// A lease is renewed or ended only by whoever shows its token: another
// member of the room, who knows the proof, cannot end it or keep it
// alive.
func testOnlyHolderRenewsOrLeaves(t *testing.T, ctx context.Context, r *Registry) {
	rec, _ := create(t, ctx, r, longTTL)
	victim := join(t, ctx, r, rec, midTTL)
	other := newMember(rec) // the proof, a token of its own
	if err := r.Leave(ctx, rec.ID, other.Token); err != nil {
		t.Fatal(err)
	}
	if st := status(t, ctx, r, rec.ID); st.Members != 2 {
		t.Errorf("members %d after a Leave with another token, want 2", st.Members)
	}
	// Renewing with one's own token renews (adds) one's own lease only.
	renew1(t, ctx, r, lease(rec, other), shortTTL)
	ends := leaseEnds(t, ctx, r, rec.ID)
	if len(ends) != 3 {
		t.Fatalf("%d leases, want 3", len(ends))
	}
	// The victim's lease still ends as its Join said: the others did not
	// touch it. It lapses; the other's short one too.
	waitStatus(t, ctx, r, rec.ID, rooms.Status{Members: 1, Active: true})
	_ = victim
}

func testLeaveLastMember(t *testing.T, ctx context.Context, r *Registry) {
	rec, creator := create(t, ctx, r, longTTL)
	m := join(t, ctx, r, rec, longTTL)
	for _, who := range []rooms.Credentials{creator, m} {
		if err := r.Leave(ctx, rec.ID, who.Token); err != nil {
			t.Fatal(err)
		}
	}
	if st := status(t, ctx, r, rec.ID); st != (rooms.Status{}) {
		t.Errorf("status %+v after the last member left, want inactive", st)
	}
	if err := r.Join(ctx, rec.ID, rec.Generation, newMember(rec), longTTL); !errors.Is(err, rooms.ErrRoomInactive) {
		t.Errorf("Join after the last member left: %v, want ErrRoomInactive", err)
	}
	// Leaving a room one is not in, or that does not exist, is no error.
	if err := r.Leave(ctx, rec.ID, m.Token); err != nil {
		t.Errorf("second Leave: %v", err)
	}
	if err := r.Leave(ctx, rooms.NewID(), m.Token); err != nil {
		t.Errorf("Leave of an unknown room: %v", err)
	}
}

// A room the registry lost is put back as its members know it, generation
// included.
func testReregisterLost(t *testing.T, ctx context.Context, r *Registry) {
	rec := newRecord(t)
	rec.Generation = 7
	m := newMember(rec)
	if err := r.Reregister(ctx, rec, m, longTTL); err != nil {
		t.Fatal(err)
	}
	got, st, err := r.Lookup(ctx, rec.ID)
	if err != nil || !sameRecord(got, rec) || st.Members != 1 {
		t.Errorf("after Reregister: %+v, %+v, %v; want %+v with one member", got, st, err, rec)
	}
	if n := renew1(t, ctx, r, lease(rec, m), longTTL); n != 1 {
		t.Errorf("Renew after Reregister: %d, want 1", n)
	}
}

// Re-registering a room that is there as the member knows it takes the
// member's lease, even if the room has none live.
func testReregisterSame(t *testing.T, ctx context.Context, r *Registry) {
	rec, m := create(t, ctx, r, shortTTL)
	waitStatus(t, ctx, r, rec.ID, rooms.Status{})
	if err := r.Reregister(ctx, rec, m, longTTL); err != nil {
		t.Fatal(err)
	}
	if err := r.Reregister(ctx, rec, m, longTTL); err != nil { // again: renews
		t.Fatal(err)
	}
	got, st, err := r.Lookup(ctx, rec.ID)
	if err != nil || !sameRecord(got, rec) || st.Members != 1 {
		t.Errorf("after Reregister: %+v, %+v, %v; want %+v with one member", got, st, err, rec)
	}
}

// Re-registering cannot replace a room of that number: not another
// generation, not another verifier, live or not.
func testReregisterOther(t *testing.T, ctx context.Context, r *Registry) {
	rec, _ := create(t, ctx, r, longTTL)
	other := newRecord(t)
	other.ID, other.Generation = rec.ID, rec.Generation
	older := rec
	older.Generation = rec.Generation + 1
	for name, c := range map[string]struct {
		rec rooms.Record
		m   rooms.Credentials
	}{
		"another verifier":   {other, newMember(other)},
		"another generation": {older, newMember(older)},
	} {
		if err := r.Reregister(ctx, c.rec, c.m, longTTL); !errors.Is(err, rooms.ErrRoomTaken) {
			t.Errorf("Reregister with %s: %v, want ErrRoomTaken", name, err)
		}
	}
	got, st, err := r.Lookup(ctx, rec.ID)
	if err != nil || !sameRecord(got, rec) || st.Members != 1 {
		t.Errorf("after refused Reregisters: %+v, %+v, %v; want %+v unchanged, one member", got, st, err, rec)
	}
	legacy := newRecord(t)
	legacy.Generation = 1
	legacy.Verifier = randomBytes(32)
	if err := r.Reregister(ctx, legacy, newMember(legacy), longTTL); !errors.Is(err, rooms.ErrInvalid) {
		t.Errorf("Reregister with a legacy verifier: %v, want ErrInvalid", err)
	}
}

// insertLegacyRoom stores a room as schema 1 made it, with a legacy
// verifier that cannot check proofs and a lease copied from
// sunoye_members, as the administrator's account can.
func insertLegacyRoom(t *testing.T, ctx context.Context, r *Registry, ttl time.Duration) rooms.Record {
	t.Helper()
	rec := newRecord(t)
	rec.Generation = 1
	rec.Verifier = randomBytes(32)
	if _, err := r.db.ExecContext(ctx, r.dialect.sql(`INSERT INTO sunoye_rooms
		(room_no, generation, salt, kdf_name, kdf_time, kdf_memory_kib, kdf_threads, verifier, created_at)
		VALUES (?, 1, ?, 'argon2id', ?, ?, ?, ?, {now})`),
		string(rec.ID), rec.Salt, rec.KDF.Time, rec.KDF.MemoryKiB, rec.KDF.Threads, rec.Verifier); err != nil {
		t.Fatal(err)
	}
	if _, err := r.db.ExecContext(ctx, r.dialect.sql(`INSERT INTO sunoye_leases (room_no, generation, holder, expires_at)
		VALUES (?, 1, ?, {now} + ?)`), string(rec.ID), legacyHolder("old member"), ttl.Milliseconds()); err != nil {
		t.Fatal(err)
	}
	return rec
}

// A room of schema 1 keeps schema 1's rules until it ends: joining and
// renewing check no proof; then its number takes only a room of schema 2.
func testLegacyRoom(t *testing.T, ctx context.Context, r *Registry) {
	rec := insertLegacyRoom(t, ctx, r, midTTL)
	m := newMember(rec) // any proof: the registry cannot check it
	rejoin(t, ctx, r, rec, m, shortTTL)
	if st := status(t, ctx, r, rec.ID); st.Members != 2 {
		t.Errorf("members %d, want 2", st.Members)
	}
	again := newRecord(t)
	again.ID = rec.ID
	if _, err := r.Create(ctx, again, newMember(again), longTTL); !errors.Is(err, rooms.ErrRoomTaken) {
		t.Errorf("Create on a live legacy room: %v, want ErrRoomTaken", err)
	}
	waitStatus(t, ctx, r, rec.ID, rooms.Status{})
	if n := renew1(t, ctx, r, lease(rec, m), longTTL); n != 1 {
		t.Errorf("Renew of a lapsed lease of a legacy room: %d, want it restored", n)
	}
	if err := r.Leave(ctx, rec.ID, m.Token); err != nil {
		t.Fatal(err)
	}
	got, err := r.Create(ctx, again, newMember(again), longTTL)
	if err != nil || got.Generation != 2 {
		t.Errorf("Create on the ended legacy room: generation %d, %v; want 2", got.Generation, err)
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
			_, errs[i] = r.Create(ctx, rec, newMember(rec), longTTL)
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
			_, errs[i] = r.Create(ctx, rec, newMember(rec), longTTL)
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
			m := newMember(rec)
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
	rec, _ := create(t, ctx, r, longTTL)
	const n = 20
	joinAtOnce(t, ctx, rec, n, func(int) *Registry { return r })
	if st := status(t, ctx, r, rec.ID); st.Members != n+1 {
		t.Errorf("members %d after %d concurrent joins, want %d", st.Members, n, n+1)
	}
}

// The view for humans says what Lookup says.
func testStatusView(t *testing.T, ctx context.Context, r *Registry) {
	rec, _ := create(t, ctx, r, longTTL)
	join(t, ctx, r, rec, longTTL)
	join(t, ctx, r, rec, shortTTL)
	lapsed, _ := create(t, ctx, r, shortTTL)
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

// The registry keeps neither tokens nor proofs: a lease row holds the
// token's SHA-256 only.
func testNoMemberStored(t *testing.T, ctx context.Context, r *Registry) {
	rec, m := create(t, ctx, r, longTTL)
	var h []byte
	if err := r.db.QueryRowContext(ctx, "SELECT holder FROM sunoye_leases WHERE room_no = ?", string(rec.ID)).Scan(&h); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(h, holder(m.Token)) {
		t.Errorf("holder %x, want SHA-256 of the token", h)
	}
}

func testBadInput(t *testing.T, ctx context.Context, r *Registry) {
	bad := newRecord(t)
	bad.ID = "12345"
	if _, err := r.Create(ctx, bad, newMember(bad), longTTL); !errors.Is(err, rooms.ErrBadRoomNumber) {
		t.Errorf("Create with a bad number: %v, want ErrBadRoomNumber", err)
	}
	for name, change := range map[string]func(*rooms.Record){
		"no salt":          func(r *rooms.Record) { r.Salt = nil },
		"short salt":       func(r *rooms.Record) { r.Salt = r.Salt[:7] },
		"long salt":        func(r *rooms.Record) { r.Salt = make([]byte, 256) },
		"no verifier":      func(r *rooms.Record) { r.Verifier = nil },
		"costly kdf":       func(r *rooms.Record) { r.KDF = rooms.KDFParams{Time: 16, MemoryKiB: 256 << 10, Threads: 4} },
		"huge memory":      func(r *rooms.Record) { r.KDF = rooms.KDFParams{Time: 1, MemoryKiB: 4 << 20, Threads: 4} },
		"no iterations":    func(r *rooms.Record) { r.KDF.Time = 0 },
		"too many threads": func(r *rooms.Record) { r.KDF.Threads = 64 },
	} {
		rec := newRecord(t)
		change(&rec)
		if _, err := r.Create(ctx, rec, newMember(newRecord(t)), longTTL); !errors.Is(err, rooms.ErrInvalid) {
			t.Errorf("Create with %s: %v, want ErrInvalid", name, err)
		}
	}
	rec, _ := create(t, ctx, r, longTTL)
	if err := r.Join(ctx, rec.ID, rec.Generation, newMember(rec), 0); !errors.Is(err, rooms.ErrInvalid) {
		t.Errorf("Join with no lease time: %v, want ErrInvalid", err)
	}
	for name, m := range map[string]rooms.Credentials{
		"no token":    {Proof: proofOf(rec)},
		"long token":  {Proof: proofOf(rec), Token: randomBytes(33)},
		"short proof": {Proof: proofOf(rec)[:16], Token: randomBytes(32)},
	} {
		if err := r.Join(ctx, rec.ID, rec.Generation, m, longTTL); !errors.Is(err, rooms.ErrInvalid) {
			t.Errorf("Join with %s: %v, want ErrInvalid", name, err)
		}
		if _, _, err := r.Renew(ctx, []rooms.Lease{lease(rec, m)}, longTTL); !errors.Is(err, rooms.ErrInvalid) {
			t.Errorf("Renew with %s: %v, want ErrInvalid", name, err)
		}
	}
	if err := r.Leave(ctx, rec.ID, nil); !errors.Is(err, rooms.ErrInvalid) {
		t.Errorf("Leave without token: %v, want ErrInvalid", err)
	}
	if err := r.Reregister(ctx, rooms.Record{ID: rec.ID, Salt: rec.Salt, KDF: rec.KDF, Verifier: rec.Verifier}, newMember(rec), longTTL); !errors.Is(err, rooms.ErrInvalid) {
		t.Errorf("Reregister of generation 0: %v, want ErrInvalid", err)
	}
}
