package db

import (
	"errors"
	"sync"
	"testing"

	"github.com/sunoye/sunoye/rooms"
)

// Two daemons on one machine share one registry through separate
// connection pools, as two processes do: SQLite's file locks (busy_timeout,
// immediate transactions) or MySQL's row locks must keep their concurrent
// creates and joins consistent. Both also migrate the fresh database at
// once.
func TestTwoDaemons(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dsn := b.dsn(t)
			regs := openTogether(t, dsn)
			if t.Failed() {
				return
			}
			ctx := testCtx(t)
			rec := newRecord(t)
			rec, err := regs[0].Create(ctx, rec, newMember(rec), longTTL)
			if err != nil {
				t.Fatal(err)
			}
			same := rooms.NewID()
			const perDaemon = 10
			var (
				mu      sync.Mutex
				created int
				wg      sync.WaitGroup
			)
			for i := range 2 * perDaemon {
				r := regs[i%2]
				wg.Go(func() {
					if err := r.Join(ctx, rec.ID, rec.Generation, newMember(rec), longTTL); err != nil {
						t.Errorf("Join: %v", err)
					}
					again := newRecord(t)
					again.ID = same
					_, err := r.Create(ctx, again, newMember(again), longTTL)
					switch {
					case err == nil:
						mu.Lock()
						created++
						mu.Unlock()
					case !errors.Is(err, rooms.ErrRoomTaken):
						t.Errorf("Create: %v", err)
					}
				})
			}
			wg.Wait()
			if created != 1 {
				t.Errorf("%d Creates of one number succeeded, want 1", created)
			}
			for i, r := range regs {
				if st := status(t, ctx, r, rec.ID); st.Members != 2*perDaemon+1 {
					t.Errorf("daemon %d counts %d members, want %d", i, st.Members, 2*perDaemon+1)
				}
			}
		})
	}
}
