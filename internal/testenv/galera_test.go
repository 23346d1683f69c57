package testenv_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/sunoye/sunoye/internal/testenv"
)

// A Galera cluster of three nodes: each accepts writes, every write is
// replicated to all, two nodes changing one row at once cannot both commit,
// and the nodes are gone when the test that started them ends.
func TestGalera(t *testing.T) {
	var addrs []string
	t.Run("cluster", func(t *testing.T) {
		g := testenv.StartGalera(t, 3)
		if g.Nodes() != 3 {
			t.Fatalf("Nodes() = %d, want 3", g.Nodes())
		}
		dbs := make([]*sql.DB, g.Nodes())
		for i := range dbs {
			dsn := g.DSN(i)
			if !strings.HasPrefix(dsn, "mysql://sunoye:") || !strings.HasSuffix(dsn, "/sunoye") {
				t.Fatalf("DSN(%d) = %q, want mysql://sunoye:PASSWORD@127.0.0.1:PORT/sunoye", i, dsn)
			}
			addrs = append(addrs, dsn[strings.LastIndex(dsn, "@")+1:strings.LastIndex(dsn, "/")])
			dbs[i] = testenv.SQL(t, dsn)
			// What the DSN's account sees, not only what StartGalera
			// waited for as root.
			if size := status(t, dbs[i], "wsrep_cluster_size"); size != "3" {
				t.Errorf("node %d: wsrep_cluster_size %s, want 3", i, size)
			}
		}

		testenv.Exec(t, g.DSN(0), "CREATE TABLE room (id INT PRIMARY KEY, gen INT NOT NULL)")
		testenv.Exec(t, g.DSN(1), "INSERT INTO room VALUES (1, 1)")
		for i, db := range dbs {
			waitRow(t, db, "SELECT gen FROM room WHERE id = 1", 1, fmt.Sprintf("node %d", i))
		}

		// Two nodes update the same row in transactions open at the same
		// time: the first to commit wins; the other is told 1213
		// (deadlock), Galera's answer to a certification conflict, and
		// the row has the winner's value everywhere.
		ctx := t.Context()
		tx0, tx1 := begin(t, ctx, dbs[0]), begin(t, ctx, dbs[1])
		txExec(t, ctx, tx1, "UPDATE room SET gen = 11 WHERE id = 1")
		txExec(t, ctx, tx0, "UPDATE room SET gen = 10 WHERE id = 1")
		if err := tx0.Commit(); err != nil {
			t.Fatalf("first commit: %v", err)
		}
		var me *mysql.MySQLError
		if err := tx1.Commit(); !errors.As(err, &me) || me.Number != 1213 {
			t.Errorf("second commit of a conflicting transaction on another node: %v, want error 1213", err)
		}
		for i, db := range dbs {
			waitRow(t, db, "SELECT gen FROM room WHERE id = 1", 10, fmt.Sprintf("node %d", i))
		}

		dsns := g.NewDatabase(t, "other")
		if len(dsns) != 3 {
			t.Fatalf("NewDatabase returned %d DSNs, want 3", len(dsns))
		}
		for i, dsn := range dsns {
			if !strings.Contains(dsn, "/other_") {
				t.Errorf("NewDatabase DSN %d = %q, want database other", i, dsn)
			}
			var n int
			if err := testenv.SQL(t, dsn).QueryRow("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()").Scan(&n); err != nil || n != 0 {
				t.Errorf("node %d: new database has %d tables (%v), want an empty one", i, n, err)
			}
		}
	})
	for _, addr := range addrs {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("node on %s still accepts connections after its test ended", addr)
		}
	}
}

// status returns a global status variable of the server behind db.
func status(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var v string
	if err := db.QueryRow("SELECT variable_value FROM information_schema.global_status WHERE variable_name = ?", name).Scan(&v); err != nil {
		t.Fatalf("global status %s: %v", name, err)
	}
	return v
}

// waitRow waits until query returns want: replication to another node is
// synchronous for the commit, but the other node applies the change a
// moment later.
func waitRow(t *testing.T, db *sql.DB, query string, want int, who string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got int
		err := db.QueryRow(query).Scan(&got)
		if err == nil && got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s = %d (%v), want %d", who, query, got, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func begin(t *testing.T, ctx context.Context, db *sql.DB) *sql.Tx {
	t.Helper()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() })
	return tx
}

func txExec(t *testing.T, ctx context.Context, tx *sql.Tx, query string) {
	t.Helper()
	if _, err := tx.ExecContext(ctx, query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}
