package db

import (
	"bytes"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
)

// A registry of schema 1 (testdata holds its schema files as they were)
// with live rows is upgraded in place by daemons of schema 2 starting on
// it, two at once: the live leases are copied, so that rooms stay active;
// the rooms keep their legacy verifiers and schema 1's rules until they
// end; the copies expire, and members take their leases again with their
// tokens.
func TestUpgradeFromV1(t *testing.T) {
	for _, c := range []struct {
		name, schema string
		hash         bool
		dsn          func(t *testing.T) (dsn string, db *sql.DB)
	}{
		{"sqlite", "testdata/schema_sqlite_v1.sql", false, func(t *testing.T) (string, *sql.DB) {
			path := filepath.Join(t.TempDir(), "registry.db")
			db, err := openSQLite(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return SQLiteDSN(path), db
		}},
		{"mariadb", "testdata/schema_v1.sql", true, func(t *testing.T) (string, *sql.DB) {
			dsn := testenv.MariaDB(t)
			return dsn, testenv.SQL(t, dsn)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := testCtx(t)
			dsn, raw := c.dsn(t)
			d := sqliteDialect
			if c.hash {
				d = mysqlDialect
			}
			v1, err := os.ReadFile(c.schema)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range splitStatements(string(v1), c.hash) {
				if _, err := raw.ExecContext(ctx, s); err != nil {
					t.Fatalf("schema 1: %s: %v", firstLine(s), err)
				}
			}
			// A live room of two members (one of whose lease has
			// lapsed) with a legacy verifier, and an ended one.
			live, ended := newRecord(t), newRecord(t)
			live.Generation, ended.Generation = 1, 4
			live.Verifier = randomBytes(32)
			for _, rec := range []rooms.Record{live, ended} {
				if _, err := raw.ExecContext(ctx, d.sql(`INSERT INTO sunoye_rooms
					(room_no, generation, salt, kdf_name, kdf_time, kdf_memory_kib, kdf_threads, verifier, created_at)
					VALUES (?, ?, ?, 'argon2id', ?, ?, ?, ?, {now})`), string(rec.ID), rec.Generation, rec.Salt,
					rec.KDF.Time, rec.KDF.MemoryKiB, rec.KDF.Threads, rec.Verifier); err != nil {
					t.Fatal(err)
				}
			}
			for member, ttl := range map[string]time.Duration{"alive": midTTL, "crashed": -time.Minute} {
				if _, err := raw.ExecContext(ctx, d.sql(`INSERT INTO sunoye_members (room_no, generation, member_id, expires_at)
					VALUES (?, 1, ?, {now} + ?)`), string(live.ID), member, ttl.Milliseconds()); err != nil {
					t.Fatal(err)
				}
			}

			regs := openTogether(t, dsn)
			if t.Failed() {
				return
			}
			r := regs[0]
			var n int
			if err := raw.QueryRowContext(ctx, d.tableExists, "sunoye_members").Scan(&n); err != nil || n != 0 {
				t.Errorf("sunoye_members: %d tables (%v), want it dropped", n, err)
			}
			if v, err := r.b.version(ctx); err != nil || v != schemaVersion {
				t.Errorf("version %d (%v), want %d", v, err, schemaVersion)
			}
			var h []byte
			if err := raw.QueryRowContext(ctx, "SELECT holder FROM sunoye_leases WHERE room_no = ?", string(live.ID)).Scan(&h); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(h, legacyHolder("alive")) {
				t.Errorf("copied lease has holder %x, want SHA-256('legacy:alive')", h)
			}
			got, st, err := r.Lookup(ctx, live.ID)
			if err != nil || !sameRecord(got, live) || st != (rooms.Status{Members: 1, Active: true}) {
				t.Errorf("after the upgrade: %+v, %+v, %v; want %+v active with its one live member", got, st, err, live)
			}
			if st := status(t, ctx, r, ended.ID); st != (rooms.Status{}) {
				t.Errorf("ended room: %+v", st)
			}

			// The upgraded member takes its lease again with its token;
			// a legacy room checks no proof.
			m := newMember(live)
			if n := renew1(t, ctx, r, lease(live, m), longTTL); n != 2 {
				t.Errorf("upgraded member's Renew: count %d, want 2 (its own and the copy)", n)
			}
			again := newRecord(t)
			again.ID = live.ID
			if _, err := r.Create(ctx, again, newMember(again), longTTL); !errors.Is(err, rooms.ErrRoomTaken) {
				t.Errorf("Create on the live upgraded room: %v, want ErrRoomTaken", err)
			}
			// The copy expires by itself.
			waitStatus(t, ctx, r, live.ID, rooms.Status{Members: 1, Active: true})
			if err := r.Leave(ctx, live.ID, m.Token); err != nil {
				t.Fatal(err)
			}
			if got, err := r.Create(ctx, again, newMember(again), longTTL); err != nil || got.Generation != 2 {
				t.Errorf("Create on the ended upgraded room: generation %d, %v; want 2", got.Generation, err)
			}
			// And applying the schema again changes nothing.
			if err := regs[1].Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if st := status(t, ctx, r, live.ID); st.Members != 1 {
				t.Errorf("after migrating again: %+v", st)
			}
		})
	}
}
