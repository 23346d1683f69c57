package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/sunoye/sunoye/rooms"
)

// Registry is the room registry in a MySQL or SQLite database. It
// implements rooms.Registry and is safe for concurrent use, also by
// several processes sharing one database.
type Registry struct {
	db      *sql.DB
	dialect *dialect
	// where names the registry in errors: the DSN without password.
	where string
	// failovers is how often a call that failed with its node is made
	// again on another: one less than the hosts of the DSN.
	failovers int
	// b enforces the registry's rules in the database.
	b backend
}

var _ rooms.Registry = (*Registry)(nil)

// Open connects to the registry named by dsn, checks that it answers, and
// applies the schema (Migrate). The DSN is
//
//	mysql://USER:PASSWORD@HOST[:PORT][,HOST[:PORT]...]/DATABASE[?PARAM=VALUE&...]
//
// with user and password URL-escaped, port 3306 by default, and parameters
// those of github.com/go-sql-driver/mysql (tls=true, timeout=5s, ...).
// Several hosts are servers of one database, the nodes of a Galera
// cluster: the registry uses the first that answers and moves to the next
// when it fails (failover.go), and sets wsrep_sync_wait=3 on them unless
// the DSN sets it. Or
//
//	sqlite:///ABSOLUTE/PATH
//
// for a database file on this machine, created with its directory if
// missing. Relative SQLite paths are refused. Errors name the registry
// without its password; if the server cannot be reached the error matches
// ErrUnreachable, if the DSN is malformed ErrBadDSN.
func Open(ctx context.Context, dsn string) (*Registry, error) {
	t, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	r, err := connect(ctx, t)
	if err != nil {
		return nil, err
	}
	if err := r.Migrate(ctx); err != nil {
		r.db.Close()
		return nil, err
	}
	return r, nil
}

// Probe connects to the registry named by dsn, as Open does, and returns
// the schema version it has (0 for none yet) and the one this build
// applies, without changing anything: for diagnostics. Like Migrate, it
// reads the version through the procedure sunoye_version where it can. An SQLite file that
// does not exist yet has version 0 and is not created.
func Probe(ctx context.Context, dsn string) (have, want int, err error) {
	t, err := parseDSN(dsn)
	if err != nil {
		return 0, 0, err
	}
	if t.mysql == nil {
		if _, err := os.Stat(t.path); errors.Is(err, fs.ErrNotExist) {
			return 0, schemaVersion, nil
		}
	}
	r, err := connect(ctx, t)
	if err != nil {
		return 0, 0, err
	}
	defer r.Close()
	have, err = r.b.version(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("registry %s: schema version: %w", r.where, r.wrapErr(err))
	}
	return have, schemaVersion, nil
}

// connect opens the database of t and checks that it answers.
func connect(ctx context.Context, t *target) (*Registry, error) {
	var err error
	r := &Registry{where: t.where}
	if t.mysql != nil {
		r.dialect = mysqlDialect
		r.db, err = openMySQL(t.hosts)
		r.failovers = len(t.hosts) - 1
	} else {
		r.dialect = sqliteDialect
		r.db, err = openSQLite(t.path)
	}
	if err != nil {
		return nil, fmt.Errorf("registry %s: open: %w", r.where, err)
	}
	if r.dialect.name == "mysql" {
		r.b = &mysqlBackend{db: r.db}
	} else {
		r.b = &sqliteBackend{db: r.db, q: newQueries(r.dialect)}
	}

	// The first connection runs the pragmas; switching a new SQLite file
	// to WAL fails with SQLITE_BUSY at once, busy_timeout or not, while
	// another process (or, on Windows, another connection) is opening
	// it too. Try again, as for a busy transaction.
	if err := r.retry(ctx, r.db.PingContext); err != nil {
		r.db.Close()
		if r.dialect.name == "mysql" && mysqlErrNo(err) == 0 {
			// Anything but an answer from the server (access denied,
			// unknown database) means we did not get through to it.
			return nil, &unreachableError{where: r.where, err: err}
		}
		return nil, r.wrapErr(err)
	}
	return r, nil
}

// String returns the registry's DSN without password, for messages.
func (r *Registry) String() string { return r.where }

// Close closes the registry's connections.
func (r *Registry) Close() error {
	return r.db.Close()
}
