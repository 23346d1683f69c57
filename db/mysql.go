package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"

	sunoye "github.com/sunoye/sunoye"
)

// MySQL error numbers that the registry tells apart.
const (
	mysqlDuplicateKey = 1062 // ER_DUP_ENTRY
	mysqlDeadlock     = 1213 // ER_LOCK_DEADLOCK; also Galera's certification failure
)

// mysqlDialect is MySQL 8 and MariaDB 10.11.
var mysqlDialect = &dialect{
	name: "mysql",
	// Not UNIX_TIMESTAMP(NOW(3)): that goes through the session's time
	// zone and is an hour off during the repeated hour when daylight
	// saving time ends. UTC_TIMESTAMP does not depend on the time zone.
	now:           "(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(3)) DIV 1000)",
	insertIgnore:  "INSERT IGNORE",
	lock:          " FOR UPDATE",
	schema:        sunoye.SchemaSQL,
	hashComments:  true,
	tableExists:   "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?",
	isDuplicate:   func(err error) bool { return mysqlErrNo(err) == mysqlDuplicateKey },
	isRetryable:   func(err error) bool { return mysqlErrNo(err) == mysqlDeadlock },
	isConnErr:     isMySQLConnErr,
	isNodeFailure: isNodeFailure,
	isDenied:      isMySQLDenied,
}

// mysqlErrNo returns the server's error number in err, or 0.
func mysqlErrNo(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// isMySQLConnErr reports whether err is a failure to reach the server or a
// broken connection, rather than an error the server returned.
func isMySQLConnErr(err error) bool {
	if mysqlErrNo(err) != 0 {
		return false
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return true
	}
	// context.DeadlineExceeded is a net.Error too, but a context that
	// ends is the caller's decision, not the server's absence.
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr) ||
		errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, mysql.ErrInvalidConn) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET)
}

// openMySQL returns a connection pool for the servers of cfgs, the hosts
// of one DSN: a failover over them if there are several. It does not
// connect yet.
func openMySQL(cfgs []*mysql.Config) (*sql.DB, error) {
	prepared := make([]*mysql.Config, len(cfgs))
	for i, cfg := range cfgs {
		cfg = cfg.Clone()
		// sunoye_renew checks whether its UPDATE found the lease's row;
		// without CLIENT_FOUND_ROWS MySQL reports only rows whose value
		// changed, and a lease renewed twice in one millisecond does not.
		// (The procedure copes without, by a slower path.)
		cfg.ClientFoundRows = true
		// Client-side interpolation: a statement is one round trip instead of
		// prepare, execute and close. Safe: the connection charset is utf8mb4.
		cfg.InterpolateParams = true
		if cfg.Timeout == 0 {
			// Without a dial timeout, a registry behind a firewall that drops
			// packets hangs a daemon's start for minutes. With other hosts to
			// try, sooner.
			cfg.Timeout = 10 * time.Second
			if len(cfgs) > 1 {
				cfg.Timeout = hostConnectTimeout
			}
		}
		// The driver prints connection trouble to stderr by default; the
		// errors reach the caller anyway, so they are only debug logs here.
		cfg.Logger = driverLogger{}
		prepared[i] = cfg
	}

	var (
		conn driver.Connector
		err  error
	)
	if len(prepared) == 1 {
		conn, err = mysql.NewConnector(prepared[0])
	} else {
		conn, err = newFailover(prepared)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: mysql DSN parameters: %v; %s", ErrBadDSN, err, dsnForms)
	}
	db := sql.OpenDB(conn)
	// A daemon needs a connection for its heartbeat and the odd join;
	// a few more serve bursts. Connections are recycled well within the
	// idle timeouts of proxies and load balancers in front of MySQL.
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(4)
	db.SetConnMaxLifetime(3 * time.Minute)
	db.SetConnMaxIdleTime(time.Minute)
	return db, nil
}

// driverLogger sends the MySQL driver's messages to slog at debug level.
type driverLogger struct{}

// Print implements mysql.Logger.
func (driverLogger) Print(v ...any) {
	slog.Debug("mysql driver: " + fmt.Sprint(v...))
}
