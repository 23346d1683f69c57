package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Timeouts of a registry whose DSN lists several hosts.
const (
	// hostConnectTimeout bounds connecting to one host (TCP, TLS and the
	// MySQL handshake) unless the DSN sets timeout=: a frozen node
	// accepts TCP connections in its kernel and then says nothing.
	hostConnectTimeout = 3 * time.Second
	// attemptTimeout bounds one call of a procedure: past it the node is
	// taken for frozen, and the call goes to the next one. It is longer
	// than the 6–8 s that a Galera cluster that lost a node (dead or
	// frozen) stalls every commit on the nodes that remain, until they
	// agree that it is gone (docs/scaling.md): a call on a live node
	// waits that out rather than move to another node that stalls as
	// well, or to the frozen one. A heartbeat has 20 s (rooms), so
	// that two attempts fit.
	attemptTimeout = 10 * time.Second
)

// MySQL error numbers that say a node cannot serve, whatever the query.
const (
	mysqlWsrepNotReady  = 1047 // Galera node outside the primary component, or still joining
	mysqlServerShutdown = 1053 // ER_SERVER_SHUTDOWN
	mysqlConnKilled     = 1927 // ER_CONNECTION_KILLED
	mysqlCommitFailed   = 1180 // ER_ERROR_DURING_COMMIT: Galera's, when the node leaves the primary component while committing
	mysqlUnknownVar     = 1193 // ER_UNKNOWN_SYSTEM_VARIABLE: wsrep_sync_wait on a server without Galera
)

// syncWaitParam is the Galera session variable that makes a node apply
// every write the cluster committed before a read, an UPDATE or a DELETE
// runs (docs/scaling.md says why the registry needs 3).
const (
	syncWaitParam = "wsrep_sync_wait"
	syncWaitValue = "3"
)

// failover is a driver.Connector over the servers of one database that a
// DSN lists: the nodes of a Galera cluster, say. New connections go to the
// current host, at first the first listed that answers; when a host fails
// (it cannot be reached, a connection to it breaks or times out, or it is
// not ready: a Galera node outside the primary component), the next one
// becomes current, and every connection to the failed host is dropped at
// its next use, so that the pool dials again. It stays on a host until that
// host fails.
type failover struct {
	hosts []*failoverHost
	// connectTimeout bounds connecting to one host.
	connectTimeout time.Duration
	// syncWait: set wsrep_sync_wait on each new connection (where the
	// server knows it).
	syncWait bool

	mu      sync.Mutex
	current int
}

// failoverHost is one server of a failover.
type failoverHost struct {
	addr string
	c    driver.Connector
	// epoch counts the failures of the host: a connection made before
	// the latest is not used again.
	epoch atomic.Uint64
	// noSyncWait: the server has no wsrep_sync_wait (not MariaDB or
	// Galera); do not set it again.
	noSyncWait atomic.Bool
}

// newFailover returns a connector over the servers of cfgs, one each, of
// which none is nil and each has a Timeout.
func newFailover(cfgs []*mysql.Config) (*failover, error) {
	// The DSN's timeout= is the same for every host.
	f := &failover{connectTimeout: cfgs[0].Timeout, syncWait: true}
	for _, cfg := range cfgs {
		if _, ok := cfg.Params[syncWaitParam]; ok {
			f.syncWait = false // the DSN says; the driver sets it
		}
		c, err := mysql.NewConnector(cfg)
		if err != nil {
			return nil, err
		}
		f.hosts = append(f.hosts, &failoverHost{addr: cfg.Addr, c: c})
	}
	return f, nil
}

// Driver implements driver.Connector.
func (f *failover) Driver() driver.Driver { return mysql.MySQLDriver{} }

// Connect implements driver.Connector: a connection to the current host,
// or else to the next that answers, in the order of the DSN.
func (f *failover) Connect(ctx context.Context) (driver.Conn, error) {
	f.mu.Lock()
	start := f.current
	f.mu.Unlock()
	var errs hostErrors
	for k := range f.hosts {
		if ctx.Err() != nil {
			break
		}
		i := (start + k) % len(f.hosts)
		// Time for each host left to try, a frozen one included.
		timeout := f.connectTimeout
		if deadline, ok := ctx.Deadline(); ok {
			timeout = min(timeout, time.Until(deadline)/time.Duration(len(f.hosts)-k))
		}
		c, err := f.connect(ctx, i, timeout)
		if err == nil {
			f.mu.Lock()
			f.current = i
			f.mu.Unlock()
			return c, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", f.hosts[i].addr, err))
		if ctx.Err() == nil {
			f.failed(i) // its own failure, not the caller's deadline
		}
	}
	if len(errs) == 0 {
		return nil, ctx.Err()
	}
	return nil, errs
}

// connect connects to host i within timeout.
func (f *failover) connect(ctx context.Context, i int, timeout time.Duration) (driver.Conn, error) {
	h := f.hosts[i]
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	epoch := h.epoch.Load()
	dc, err := h.c.Connect(ctx)
	if err != nil {
		return nil, err
	}
	mc, ok := dc.(mysqlConn)
	if !ok {
		dc.Close()
		return nil, fmt.Errorf("the MySQL driver's connection is a %T, which lacks methods the registry uses", dc)
	}
	if f.syncWait && !h.noSyncWait.Load() {
		_, err := mc.ExecContext(ctx, "SET SESSION "+syncWaitParam+" = "+syncWaitValue, nil)
		switch {
		case mysqlErrNo(err) == mysqlUnknownVar:
			h.noSyncWait.Store(true)
		case err != nil:
			mc.Close()
			return nil, err
		}
	}
	return &failoverConn{mysqlConn: mc, f: f, host: i, epoch: epoch}, nil
}

// failed records that host i failed: connections to it are dropped, and
// new ones go to the next host if i was the current one.
func (f *failover) failed(i int) {
	f.hosts[i].epoch.Add(1)
	f.mu.Lock()
	if f.current == i {
		f.current = (i + 1) % len(f.hosts)
	}
	f.mu.Unlock()
}

// hostErrors are the errors of the hosts tried for one connection, in
// the order tried.
type hostErrors []error

func (e hostErrors) Error() string {
	s := make([]string, len(e))
	for i, err := range e {
		s[i] = err.Error()
	}
	return "no host answered: " + strings.Join(s, "; ")
}

func (e hostErrors) Unwrap() []error { return e }

// isNodeFailure reports an error after which a call is better made on
// another node: the connection broke or timed out, or the node said it
// cannot serve. The call may have run on the failed node: only calls
// that can run twice are made again (Registry.retry).
func isNodeFailure(err error) bool {
	switch mysqlErrNo(err) {
	case 0:
	case mysqlWsrepNotReady, mysqlServerShutdown, mysqlConnKilled, mysqlCommitFailed:
		return true
	default:
		return false
	}
	if errors.Is(err, driver.ErrSkip) || errors.Is(err, context.Canceled) {
		return false
	}
	return errors.Is(err, context.DeadlineExceeded) || isMySQLConnErr(err)
}

// mysqlConn is what the MySQL driver's connections implement, and
// database/sql uses.
type mysqlConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
	driver.NamedValueChecker
}

// failoverConn is a connection to one host of a failover. It tells the
// failover when its host fails, and is not used again after that.
type failoverConn struct {
	mysqlConn
	f      *failover
	host   int
	epoch  uint64
	broken atomic.Bool
}

// check records a node failure in err.
func (c *failoverConn) check(err error) error {
	if err != nil && isNodeFailure(err) {
		c.broken.Store(true)
		c.f.failed(c.host)
	}
	return err
}

// usable reports whether neither this connection nor its host failed
// since it was made.
func (c *failoverConn) usable() bool {
	return !c.broken.Load() && c.f.hosts[c.host].epoch.Load() == c.epoch
}

func (c *failoverConn) Prepare(query string) (driver.Stmt, error) {
	s, err := c.mysqlConn.Prepare(query)
	return s, c.check(err)
}

func (c *failoverConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	s, err := c.mysqlConn.PrepareContext(ctx, query)
	return s, c.check(err)
}

func (c *failoverConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *failoverConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.mysqlConn.BeginTx(ctx, opts)
	if err != nil {
		return nil, c.check(err)
	}
	return failoverTx{tx, c}, nil
}

func (c *failoverConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	r, err := c.mysqlConn.ExecContext(ctx, query, args)
	return r, c.check(err)
}

func (c *failoverConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	r, err := c.mysqlConn.QueryContext(ctx, query, args)
	return r, c.check(err)
}

func (c *failoverConn) Ping(ctx context.Context) error {
	return c.check(c.mysqlConn.Ping(ctx))
}

// ResetSession implements driver.SessionResetter: a connection whose host
// failed since it was made is bad, and database/sql takes another.
func (c *failoverConn) ResetSession(ctx context.Context) error {
	if !c.usable() {
		return driver.ErrBadConn
	}
	return c.mysqlConn.ResetSession(ctx)
}

// IsValid implements driver.Validator: the pool keeps only usable
// connections.
func (c *failoverConn) IsValid() bool {
	return c.usable() && c.mysqlConn.IsValid()
}

// failoverTx is a transaction on a failoverConn.
type failoverTx struct {
	driver.Tx
	c *failoverConn
}

func (t failoverTx) Commit() error   { return t.c.check(t.Tx.Commit()) }
func (t failoverTx) Rollback() error { return t.c.check(t.Tx.Rollback()) }
