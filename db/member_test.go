package db

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
)

// An account made exactly from the statements of Grants (what `sunoye db
// grant` prints) runs a daemon's registry without changing the schema,
// cannot touch the tables, and cannot get around the rules by calling the
// procedures itself: it cannot end, lock or take over a live room, add a
// lease without the room's proof, renew or end another member's lease,
// hold a room open with a long lease, or store a room that is costly to
// join.
func TestMemberAccount(t *testing.T) {
	admin := testenv.MariaDB(t)
	open(t, admin) // the administrator migrates
	adm := testenv.SQL(t, admin)
	ctx := testCtx(t)
	user, host, dsn := testenv.MariaDBAccount(t, admin)
	grants, err := Grants(admin, user, host)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range grants {
		testenv.Exec(t, admin, g)
	}
	altered := func() string {
		var s string
		if err := adm.QueryRowContext(ctx, `SELECT CONCAT(COUNT(*), ' ', MAX(last_altered)) FROM information_schema.routines
			WHERE routine_schema = DATABASE()`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := altered()

	// Open does no DDL: the account may do none, and any statement it
	// tried would fail Open.
	r := open(t, dsn)
	if after := altered(); after != before {
		t.Errorf("procedures changed by the member's Open: %s, then %s", before, after)
	}
	if have, want, err := Probe(ctx, dsn); err != nil || have != want {
		t.Errorf("Probe on the member account: %d, %d, %v", have, want, err)
	}

	// The daemon's operations work.
	rec, _ := create(t, ctx, r, longTTL)
	m := join(t, ctx, r, rec, longTTL)
	if n := renew1(t, ctx, r, lease(rec, m), longTTL); n != 2 {
		t.Errorf("Renew: count %d, want 2", n)
	}
	if err := r.Reregister(ctx, rec, m, longTTL); err != nil {
		t.Errorf("Reregister of the room as it is: %v", err)
	}
	if err := r.Leave(ctx, rec.ID, m.Token); err != nil {
		t.Fatal(err)
	}
	if st := status(t, ctx, r, rec.ID); st != (rooms.Status{Members: 1, Active: true}) {
		t.Errorf("status %+v, want the creator only", st)
	}

	member := testenv.SQL(t, dsn)
	t.Run("TablesRefused", func(t *testing.T) {
		for _, table := range []string{"sunoye_schema", "sunoye_rooms", "sunoye_leases", "sunoye_room_status"} {
			for _, q := range []string{
				"SELECT * FROM %s",
				"SELECT COUNT(*) FROM %s",
				"INSERT INTO %s SELECT * FROM %[1]s",
				"UPDATE %s SET room_no = room_no",
				"DELETE FROM %s",
				"TRUNCATE TABLE %s",
				"DROP TABLE %s",
				"ALTER TABLE %s ADD COLUMN x INT",
				"RENAME TABLE %s TO x",
				"LOCK TABLES %s WRITE",
			} {
				q := fmt.Sprintf(q, table)
				if _, err := member.ExecContext(ctx, q); !isMySQLDenied(err) {
					t.Errorf("%s: %v, want access denied", q, err)
				}
			}
		}
		for _, q := range []string{
			"CREATE TABLE sunoye_x (a INT)",
			"DROP PROCEDURE sunoye_create",
			"CREATE PROCEDURE sunoye_x() SELECT 1",
			// The helpers that write without checking the rules.
			"CALL sunoye_put_lease('" + string(rec.ID) + "', 1, REPEAT('x', 32), 600000)",
			"CALL sunoye_insert_room('123456789', 1, REPEAT('s', 16), 1, 64, 1, REPEAT('v', 33), @e)",
		} {
			if _, err := member.ExecContext(ctx, q); !isMySQLDenied(err) {
				t.Errorf("%s: %v, want access denied", q, err)
			}
		}
		if st := status(t, ctx, r, rec.ID); st.Members != 1 {
			t.Errorf("status %+v after the refusals", st)
		}
	})

	// call runs a procedure as the member, bypassing the checks of
	// package db.
	call := func(q string, args ...any) error {
		_, err := member.ExecContext(ctx, "CALL "+q, args...)
		return refusal(err)
	}
	proof := proofOf(rec)
	t.Run("Rules", func(t *testing.T) {
		stranger := newMember(newRecord(t))
		// No lease without the room's proof.
		if err := r.Join(ctx, rec.ID, rec.Generation, stranger, longTTL); !errors.Is(err, rooms.ErrWrongPassword) {
			t.Errorf("Join with a wrong proof: %v, want ErrWrongPassword", err)
		}
		var renewed, members int
		if err := member.QueryRowContext(ctx, "CALL sunoye_renew(?, ?, ?, ?, ?)", string(rec.ID), rec.Generation,
			stranger.Proof, stranger.Token, 60_000).Scan(&renewed, &members); err != nil || renewed != 0 || members != 1 {
			t.Errorf("sunoye_renew with a wrong proof: renewed %d, members %d, %v; want 0, 1", renewed, members, err)
		}
		if st := status(t, ctx, r, rec.ID); st.Members != 1 {
			t.Errorf("members %d after a stranger tried, want 1", st.Members)
		}
		// Another member's lease is not the stranger's to end or renew,
		// even with what the registry keeps of its token.
		victim := join(t, ctx, r, rec, midTTL)
		for _, token := range [][]byte{holder(victim.Token), randomBytes(32)} {
			if err := r.Leave(ctx, rec.ID, token); err != nil {
				t.Fatal(err)
			}
		}
		if st := status(t, ctx, r, rec.ID); st.Members != 2 {
			t.Errorf("members %d after Leaves with others' tokens, want 2", st.Members)
		}
		// A live room's number cannot be taken over, its salt and
		// verifier not replaced.
		again := newRecord(t)
		again.ID = rec.ID
		if _, err := r.Create(ctx, again, newMember(again), longTTL); !errors.Is(err, rooms.ErrRoomTaken) {
			t.Errorf("Create on a live room: %v, want ErrRoomTaken", err)
		}
		again.Generation = rec.Generation
		if err := r.Reregister(ctx, again, newMember(again), longTTL); !errors.Is(err, rooms.ErrRoomTaken) {
			t.Errorf("Reregister of another record: %v, want ErrRoomTaken", err)
		}
		again.Generation = rec.Generation + 1
		if err := r.Reregister(ctx, again, newMember(again), longTTL); !errors.Is(err, rooms.ErrRoomTaken) {
			t.Errorf("Reregister of a later generation: %v, want ErrRoomTaken", err)
		}
		if got, _, err := r.Lookup(ctx, rec.ID); err != nil || !sameRecord(got, rec) {
			t.Errorf("after the attempts: %+v, %v; want %+v unchanged", got, err, rec)
		}
	})

	t.Run("Arguments", func(t *testing.T) {
		// A lease of a year lasts 10 minutes.
		token := randomBytes(32)
		if err := call("sunoye_join(?, ?, ?, ?, ?)", string(rec.ID), rec.Generation, proof, token, int64(365*24*time.Hour/time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		var left int64
		if err := adm.QueryRowContext(ctx, mysqlDialect.sql("SELECT expires_at - {now} FROM sunoye_leases WHERE room_no = ? AND holder = ?"),
			string(rec.ID), holder(token)).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left > maxTTL.Milliseconds() || left < maxTTL.Milliseconds()-60_000 {
			t.Errorf("a lease of a year ends in %d ms, want at most %d", left, maxTTL.Milliseconds())
		}
		// Rooms that cost joiners seconds and gigabytes are refused, and
		// so is anything else out of bounds.
		fresh := newRecord(t)
		fp := proofOf(fresh)
		for name, c := range map[string]struct {
			args []any
			want error
		}{
			"costly kdf":       {[]any{string(fresh.ID), fresh.Salt, 16, 256 << 10, 4, fresh.Verifier, fp, token, 60_000}, rooms.ErrInvalid},
			"4 GiB":            {[]any{string(fresh.ID), fresh.Salt, 1, 4 << 20, 4, fresh.Verifier, fp, token, 60_000}, rooms.ErrInvalid},
			"no iterations":    {[]any{string(fresh.ID), fresh.Salt, 0, 64 << 10, 4, fresh.Verifier, fp, token, 60_000}, rooms.ErrInvalid},
			"negative threads": {[]any{string(fresh.ID), fresh.Salt, 3, 64 << 10, -1, fresh.Verifier, fp, token, 60_000}, rooms.ErrInvalid},
			"short salt":       {[]any{string(fresh.ID), fresh.Salt[:4], 3, 64 << 10, 4, fresh.Verifier, fp, token, 60_000}, rooms.ErrInvalid},
			"legacy verifier":  {[]any{string(fresh.ID), fresh.Salt, 3, 64 << 10, 4, fresh.Verifier[1:], fp, token, 60_000}, rooms.ErrInvalid},
			"wrong proof":      {[]any{string(fresh.ID), fresh.Salt, 3, 64 << 10, 4, fresh.Verifier, proof, token, 60_000}, rooms.ErrWrongPassword},
			"long token":       {[]any{string(fresh.ID), fresh.Salt, 3, 64 << 10, 4, fresh.Verifier, fp, randomBytes(40), 60_000}, rooms.ErrInvalid},
			"no lease time":    {[]any{string(fresh.ID), fresh.Salt, 3, 64 << 10, 4, fresh.Verifier, fp, token, 0}, rooms.ErrInvalid},
			"bad number":       {[]any{"012345678", fresh.Salt, 3, 64 << 10, 4, fresh.Verifier, fp, token, 60_000}, rooms.ErrBadRoomNumber},
			"null number":      {[]any{nil, fresh.Salt, 3, 64 << 10, 4, fresh.Verifier, fp, token, 60_000}, rooms.ErrBadRoomNumber},
		} {
			if err := call("sunoye_create(?, ?, ?, ?, ?, ?, ?, ?, ?)", c.args...); !errors.Is(err, c.want) {
				t.Errorf("sunoye_create with %s: %v, want %v", name, err, c.want)
			}
		}
		if _, _, err := r.Lookup(ctx, fresh.ID); !errors.Is(err, rooms.ErrNoSuchRoom) {
			t.Errorf("after refused creates: %v, want no room", err)
		}
		if err := call("sunoye_leave(?, ?)", string(rec.ID), []byte("short")); !errors.Is(err, rooms.ErrInvalid) {
			t.Errorf("sunoye_leave with a short token: %v, want ErrInvalid", err)
		}
		if err := call("sunoye_join(?, ?, ?, ?, ?)", string(rec.ID), nil, proof, randomBytes(32), 60_000); !errors.Is(err, rooms.ErrRoomInactive) {
			t.Errorf("sunoye_join without generation: %v, want ErrRoomInactive", err)
		}
	})
}
