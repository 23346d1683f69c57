package db

import (
	"context"
	"fmt"
	"testing"

	"github.com/sunoye/sunoye/rooms"
)

// BenchmarkJoin measures one Join: a transaction that locks the room,
// counts its live leases and writes the member's lease. The members take
// turns, as daemons that rejoin after a restart do.
func BenchmarkJoin(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			r := open(b, be.dsn(b))
			ctx := context.Background()
			rec, err := r.Create(ctx, newRecord(b), newMember(), longTTL)
			if err != nil {
				b.Fatal(err)
			}
			members := make([]rooms.MemberID, 16)
			for i := range members {
				members[i] = newMember()
			}
			i := 0
			for b.Loop() {
				if err := r.Join(ctx, rec.ID, rec.Generation, members[i%len(members)], longTTL); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkRenew measures one heartbeat of a member in n rooms of four
// members each. Its cost should hardly grow with n: two statements, whatever
// the number of rooms.
func BenchmarkRenew(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			r := open(b, be.dsn(b))
			ctx := context.Background()
			for _, n := range []int{1, 10, 50} {
				b.Run(fmt.Sprintf("rooms=%d", n), func(b *testing.B) {
					m := newMember()
					leases := make([]rooms.Lease, n)
					for i := range leases {
						rec, err := r.Create(ctx, newRecord(b), newMember(), longTTL)
						if err != nil {
							b.Fatal(err)
						}
						for _, who := range []rooms.MemberID{m, newMember(), newMember()} {
							if err := r.Join(ctx, rec.ID, rec.Generation, who, longTTL); err != nil {
								b.Fatal(err)
							}
						}
						leases[i] = rooms.Lease{Room: rec.ID, Generation: rec.Generation}
					}
					for b.Loop() {
						counts, gone, err := r.Renew(ctx, m, leases, longTTL)
						if err != nil || len(counts) != n || len(gone) != 0 {
							b.Fatalf("Renew: %d counts, %d gone, %v", len(counts), len(gone), err)
						}
					}
				})
			}
		})
	}
}
