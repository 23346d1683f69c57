package db

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sunoye/sunoye/rooms"
)

// maxBatch bounds the rooms in one statement, well below the placeholder
// limits of both databases (65535 in MySQL, 32766 in SQLite).
const maxBatch = 500

// Renew extends member's leases to ttl from now, restoring lapsed ones
// whose room still has the same generation, and returns the live lease
// count of each room renewed. Rooms whose generation changed or that no
// longer exist are returned as gone.
//
// It does not depend on the number of rooms: one UPDATE by member_id, then
// one grouped count, so a heartbeat costs two statements whether the member
// is in one room or fifty. Only for leases that had no row to renew (a
// clean shutdown deletes them, and so may an administrator) do two more
// statements per room restore them or tell that the room is gone.
func (r *Registry) Renew(ctx context.Context, member rooms.MemberID, leases []rooms.Lease, ttl time.Duration) (map[rooms.ID]int, []rooms.ID, error) {
	ms, err := leaseMillis(member, ttl)
	if err != nil {
		return nil, nil, fmt.Errorf("renew leases of %s: %w", member, err)
	}
	leases = uniqueLeases(leases)
	renewed := make(map[rooms.ID]bool, len(leases))
	for rest := leases; len(rest) > 0; {
		batch := rest[:min(len(rest), maxBatch)]
		rest = rest[len(batch):]
		if err := r.renewBatch(ctx, member, batch, ms, renewed); err != nil {
			return nil, nil, fmt.Errorf("renew leases of %s: %w", member, r.wrapErr(err))
		}
	}
	var ids, gone []rooms.ID
	for _, l := range leases {
		ok, pending := renewed[l.Room]
		if !pending {
			continue // listed before
		}
		delete(renewed, l.Room)
		if ok {
			ids = append(ids, l.Room)
		} else {
			gone = append(gone, l.Room)
		}
	}
	counts, err := r.Counts(ctx, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("renew leases of %s: %w", member, err)
	}
	return counts, gone, nil
}

// renewStatement returns the UPDATE that extends member's leases in batch
// by ms milliseconds, and its arguments.
func (r *Registry) renewStatement(member rooms.MemberID, batch []rooms.Lease, ms int64) (string, []any) {
	var cond strings.Builder
	args := make([]any, 0, 2+2*len(batch))
	args = append(args, ms, string(member))
	for i, l := range batch {
		if i > 0 {
			cond.WriteString(" OR ")
		}
		cond.WriteString("(room_no = ? AND generation = ?)")
		args = append(args, string(l.Room), l.Generation)
	}
	return r.dialect.sql("UPDATE sunoye_members SET expires_at = {now} + ? WHERE member_id = ? AND (" + cond.String() + ")"), args
}

// countStatement returns the query that counts the live leases of each of
// ids (at most maxBatch), and its arguments.
func (r *Registry) countStatement(ids []rooms.ID) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = string(id)
	}
	return r.dialect.sql("SELECT room_no, COUNT(*) FROM sunoye_members WHERE room_no IN (" +
		placeholders(len(ids)) + ") AND expires_at > {now} GROUP BY room_no"), args
}

// renewBatch renews batch and records in renewed, for each of its rooms,
// whether the lease was renewed.
func (r *Registry) renewBatch(ctx context.Context, member rooms.MemberID, batch []rooms.Lease, ms int64, renewed map[rooms.ID]bool) error {
	// The lease's generation must be the one the member holds: a lease row
	// exists only for the room's current generation (Create deletes the
	// old ones), so this is the join with the room's generation without
	// reading sunoye_rooms, and without locking its rows, which would make
	// heartbeats wait for (and deadlock with) creators and joiners.
	update, args := r.renewStatement(member, batch, ms)
	var n int64
	err := r.retry(ctx, func() error {
		res, err := r.db.ExecContext(ctx, update, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return err
	}
	if n == int64(len(batch)) { // the heartbeat's usual case
		for _, l := range batch {
			renewed[l.Room] = true
		}
		return nil
	}

	// Some leases had no row to update: deleted by the member's own clean
	// shutdown, or by someone tidying the table. The member never left:
	// as long as the room is the same generation, the lease is taken again,
	// in one statement that reads the room's generation, so it cannot
	// slip in beside a Create that replaced the room. A room that is gone
	// or has a new generation is reported gone.
	restore := r.dialect.sql("{insert-ignore} INTO sunoye_members (room_no, generation, member_id, expires_at) " +
		"SELECT room_no, generation, ?, {now} + ? FROM sunoye_rooms WHERE room_no = ? AND generation = ?")
	for _, l := range batch {
		if renewed[l.Room] {
			continue // a room listed with two generations: one was renewed
		}
		err := r.retry(ctx, func() error {
			if _, err := r.db.ExecContext(ctx, restore, string(member), ms, string(l.Room), l.Generation); err != nil {
				return err
			}
			// Renewed, restored, or (a row of another generation) gone.
			var n int
			err := r.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sunoye_members WHERE room_no = ? AND member_id = ? AND generation = ?",
				string(l.Room), string(member), l.Generation).Scan(&n)
			renewed[l.Room] = n > 0
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Counts returns the number of live leases of each room in ids, 0 for
// rooms without any and for unknown rooms, in one query (per 500 rooms).
func (r *Registry) Counts(ctx context.Context, ids []rooms.ID) (map[rooms.ID]int, error) {
	counts := make(map[rooms.ID]int, len(ids))
	for _, id := range ids {
		counts[id] = 0
	}
	for len(ids) > 0 {
		batch := ids[:min(len(ids), maxBatch)]
		ids = ids[len(batch):]
		q, args := r.countStatement(batch)
		err := r.retry(ctx, func() error { return r.scanCounts(ctx, q, args, counts) })
		if err != nil {
			return nil, fmt.Errorf("count members: %w", r.wrapErr(err))
		}
	}
	return counts, nil
}

func (r *Registry) scanCounts(ctx context.Context, q string, args []any, counts map[rooms.ID]int) error {
	rows, err := r.db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id string
			n  int
		)
		if err := rows.Scan(&id, &n); err != nil {
			return err
		}
		counts[rooms.ID(id)] = n
	}
	return rows.Err()
}

// uniqueLeases returns leases without repetitions, in order.
func uniqueLeases(leases []rooms.Lease) []rooms.Lease {
	seen := make(map[rooms.Lease]bool, len(leases))
	out := make([]rooms.Lease, 0, len(leases))
	for _, l := range leases {
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out
}

// placeholders returns "?, ?, ?" with n question marks.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
