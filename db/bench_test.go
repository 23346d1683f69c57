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
			rec := newRecord(b)
			rec, err := r.Create(ctx, rec, newMember(rec), longTTL)
			if err != nil {
				b.Fatal(err)
			}
			members := make([]rooms.Credentials, 16)
			for i := range members {
				members[i] = newMember(rec)
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
// members each. It grows with n: one call per lease.
func BenchmarkRenew(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			r := open(b, be.dsn(b))
			ctx := context.Background()
			for _, n := range []int{1, 10, 50} {
				b.Run(fmt.Sprintf("rooms=%d", n), func(b *testing.B) {
					leases := make([]rooms.Lease, n)
					for i := range leases {
						rec := newRecord(b)
						rec, err := r.Create(ctx, rec, newMember(rec), longTTL)
						if err != nil {
							b.Fatal(err)
						}
						m := newMember(rec)
						for _, who := range []rooms.Credentials{m, newMember(rec), newMember(rec)} {
							if err := r.Join(ctx, rec.ID, rec.Generation, who, longTTL); err != nil {
								b.Fatal(err)
							}
						}
						leases[i] = lease(rec, m)
					}
					for b.Loop() {
						counts, gone, err := r.Renew(ctx, leases, longTTL)
						if err != nil || len(counts) != n || len(gone) != 0 {
							b.Fatalf("Renew: %d counts, %d gone, %v", len(counts), len(gone), err)
						}
					}
				})
			}
		})
	}
}
