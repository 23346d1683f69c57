package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
)

// TestFailoverConnector runs a registry's calls against three real MariaDB
// servers listed in one DSN, and takes them away one by one: killed (its
// port refuses), frozen with SIGSTOP (connections stay open, nothing is
// answered), back again. Each call is served by the first server in the
// list that answers, moves on when it fails, stays where it moved, and
// reports every server when none answers. The servers are independent
// (not a cluster): each says which it is.
func TestFailoverConnector(t *testing.T) {
	const password = "pw,with@odd/chars"
	var (
		servers [3]*testenv.MariaDBServer
		dsns    [3]string
	)
	for i := range servers {
		servers[i] = testenv.StartMariaDB(t)
		testenv.Exec(t, servers[i].DSN(), "CREATE USER 'fo'@'%' IDENTIFIED BY '"+password+"'")
		testenv.Exec(t, servers[i].DSN(), "GRANT ALL ON sunoye.* TO 'fo'@'%'")
		u := &url.URL{Scheme: "mysql", User: url.UserPassword("fo", password), Host: servers[i].Addr(), Path: "/sunoye"}
		dsns[i] = u.String()
	}
	dsn := testenv.HostList(t, dsns[:], 0, 1, 2)
	open := func() *Registry {
		tg, err := parseDSN(dsn)
		if err != nil {
			t.Fatal(err)
		}
		db, err := openMySQL(tg.hosts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return &Registry{db: db, dialect: mysqlDialect, where: tg.where, failovers: len(tg.hosts) - 1}
	}
	// call is one call of the registry, with a heartbeat's deadline
	// (rooms' registryTimeout): which server served it, and how long it
	// took.
	call := func(r *Registry) (int, time.Duration, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		start := time.Now()
		var port, syncWait int
		err := r.retry(ctx, func(ctx context.Context) error {
			return r.db.QueryRowContext(ctx, "SELECT @@port, @@session.wsrep_sync_wait").Scan(&port, &syncWait)
		})
		if err == nil && syncWait != 3 {
			err = fmt.Errorf("wsrep_sync_wait = %d, want 3 on a DSN of several hosts", syncWait)
		}
		for i, s := range servers {
			if s.Addr() == fmt.Sprintf("127.0.0.1:%d", port) {
				return i, time.Since(start), err
			}
		}
		return -1, time.Since(start), r.wrapErr(err)
	}
	want := func(r *Registry, what string, server int, within time.Duration) {
		t.Helper()
		got, took, err := call(r)
		t.Logf("%s: served by server %d in %v", what, got, took.Round(time.Millisecond))
		if err != nil || got != server {
			t.Fatalf("%s: served by server %d (%v), want server %d", what, got, err, server)
		}
		if took > within {
			t.Errorf("%s: took %v, want at most %v", what, took, within)
		}
	}
	r := open()
	want(r, "all up", 0, 5*time.Second)
	// Connections to server 0 in the pool, as a daemon has.
	var conns []*sql.Conn
	for range 3 {
		c, err := r.db.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Close()
	}

	// Killed: its connections break and its port refuses; the next call
	// is served by the next server, without an error.
	servers[0].Kill(t)
	want(r, "server 0 killed", 1, 3*time.Second)

	// Frozen: the call on server 1 times out (attemptTimeout) and is made
	// again on server 2, within a heartbeat's 20 s.
	servers[1].Freeze(t)
	thawed := false
	thaw := func() {
		if !thawed {
			thawed = true
			servers[1].Thaw(t)
		}
	}
	t.Cleanup(thaw)
	want(r, "server 1 frozen", 2, attemptTimeout+3*time.Second)
	want(r, "server 1 still frozen, next call", 2, 2*time.Second)

	// A new pool, as a daemon that starts now: server 0 refuses, server
	// 1 accepts TCP connections but does not answer (hostConnectTimeout).
	fresh := open()
	want(fresh, "new pool, server 0 down and server 1 frozen", 2, hostConnectTimeout+3*time.Second)

	// Back again: the pool stays where it is until that server fails,
	// then goes on in the list's order, around to the first.
	thaw()
	servers[0].Start(t)
	want(r, "servers 0 and 1 back", 2, 2*time.Second)
	servers[2].Kill(t)
	want(r, "server 2 killed", 0, 3*time.Second)

	// None answers: the error says so for each, matches ErrUnreachable
	// and rooms.ErrUnavailable, and shows no password.
	servers[0].Kill(t)
	servers[1].Kill(t)
	_, took, err := call(r)
	t.Logf("all down: %v after %v", err, took.Round(time.Millisecond))
	if !errors.Is(err, ErrUnreachable) || !errors.Is(err, rooms.ErrUnavailable) {
		t.Errorf("all down: %v, want ErrUnreachable", err)
	}
	for _, s := range servers {
		if !strings.Contains(err.Error(), s.Addr()) {
			t.Errorf("all down: %v does not name %s", err, s.Addr())
		}
	}
	if strings.Contains(err.Error(), "odd/chars") {
		t.Errorf("all down: the error shows the password: %v", err)
	}
}

// nodeFailingBackend is a backend whose create commits and then loses its
// connection, as when a node dies between its commit and its answer, and
// then finds the room taken. With other set, the room it then finds is
// another creator's, who won the number meanwhile.
type nodeFailingBackend struct {
	backend
	other bool
	room  rooms.Record
	calls int
}

func (b *nodeFailingBackend) create(ctx context.Context, rec rooms.Record, cred rooms.Credentials, ms int64) (int64, error) {
	b.calls++
	if b.calls > 1 {
		return 0, rooms.ErrRoomTaken
	}
	b.room = rec
	b.room.Generation = 4
	if b.other {
		b.room.Salt = append([]byte("another"), rec.Salt...)
	}
	return 0, fmt.Errorf("commit: %w", mysql.ErrInvalidConn)
}

func (b *nodeFailingBackend) lookup(ctx context.Context, id rooms.ID) (rooms.Record, string, int, error) {
	return b.room, kdfArgon2id, 1, nil
}

// A create whose outcome is unknown (its node failed after the commit) is
// made again on another node, which finds the room taken: by its own first
// attempt, which Create recognises (its random salt), so the caller gets
// its room. Another creator's room stays taken.
func TestCreateUnknownOutcome(t *testing.T) {
	rec := newRecord(t)
	for _, other := range []bool{false, true} {
		b := &nodeFailingBackend{other: other}
		r := &Registry{dialect: mysqlDialect, where: "test", failovers: 2, b: b}
		got, err := r.Create(testCtx(t), rec, newMember(rec), longTTL)
		switch {
		case b.calls != 2:
			t.Errorf("other=%v: create called %d times, want 2 (once more after the node failed)", other, b.calls)
		case !other && (err != nil || got.Generation != 4):
			t.Errorf("Create after an unknown outcome: %+v, %v; want our room, generation 4", got, err)
		case other && !errors.Is(err, rooms.ErrRoomTaken):
			t.Errorf("Create after an unknown outcome, another's room found: %v, want ErrRoomTaken", err)
		}
	}
}

// Which errors send a call to another node: a broken or timed-out
// connection and a node that cannot serve; not the caller giving up, nor
// an answer of the registry (a refusal, a deadlock, which is retried on
// the same node).
func TestIsNodeFailure(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{mysql.ErrInvalidConn, true},
		{driver.ErrBadConn, true},
		{fmt.Errorf("call: %w", context.DeadlineExceeded), true},
		{&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{hostErrors{fmt.Errorf("h1: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})}, true},
		{&mysql.MySQLError{Number: 1047, Message: "WSREP has not yet prepared node for application use"}, true},
		{&mysql.MySQLError{Number: 1180, Message: "Got error 6 during COMMIT"}, true},
		{context.Canceled, false},
		{driver.ErrSkip, false},
		{&mysql.MySQLError{Number: 1213, Message: "Deadlock found"}, false},
		{&mysql.MySQLError{Number: 1644, Message: "sunoye: room taken"}, false},
		{&mysql.MySQLError{Number: 1045, Message: "Access denied"}, false},
		{errors.New("something else"), false},
	} {
		if got := isNodeFailure(tc.err); got != tc.want {
			t.Errorf("isNodeFailure(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
