package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sunoye/sunoye/rooms"
)

// Renew extends the given leases to ttl from now, restoring lapsed or
// missing ones whose room still has the same generation (with their
// proof), and returns the live lease count of each room renewed. Rooms
// whose generation changed or that no longer exist are returned as gone.
//
// Each lease is renewed by itself (on MySQL one CALL of sunoye_renew,
// which updates one row by its primary key and counts the room's leases):
// the registry can no longer renew all of a member's leases with one
// UPDATE, since it does not know which leases are one member's. A
// heartbeat costs one round trip per room.
func (r *Registry) Renew(ctx context.Context, leases []rooms.Lease, ttl time.Duration) (map[rooms.ID]int, []rooms.ID, error) {
	counts := make(map[rooms.ID]int, len(leases))
	var gone []rooms.ID
	done := make(map[rooms.ID]bool, len(leases))
	for i, l := range leases {
		if done[l.Room] || containsLease(leases[:i], l) {
			continue // listed before, or a room listed with two generations of which one was renewed
		}
		ms, err := checkLease(l.Room, l.Credentials, ttl)
		if err != nil {
			return nil, nil, fmt.Errorf("renew lease on room %s: %w", l.Room, err)
		}
		var (
			ok      bool
			members int
		)
		err = r.retry(ctx, func(ctx context.Context) (err error) {
			ok, members, err = r.b.renew(ctx, l, ms)
			return err
		})
		if err != nil {
			return nil, nil, fmt.Errorf("renew lease on room %s: %w", l.Room, r.wrapErr(err))
		}
		if ok {
			done[l.Room] = true
			counts[l.Room] = members
		}
	}
	// A room is gone if none of its leases was renewed; each listed once,
	// in order.
	listed := make(map[rooms.ID]bool, len(leases))
	for _, l := range leases {
		if !done[l.Room] && !listed[l.Room] {
			listed[l.Room] = true
			gone = append(gone, l.Room)
		}
	}
	return counts, gone, nil
}

// containsLease reports whether leases has l.
func containsLease(leases []rooms.Lease, l rooms.Lease) bool {
	for _, m := range leases {
		if sameLease(m, l) {
			return true
		}
	}
	return false
}

// isNoRows reports whether err says that a query returned no row.
func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
