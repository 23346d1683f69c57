package db

import (
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed schema_sqlite.sql
var sqliteSchema string

// sqliteBusyTimeoutMillis is how long a statement waits for another
// connection (another daemon on the same machine) to release the database
// before failing with SQLITE_BUSY. Transactions here last milliseconds.
const sqliteBusyTimeoutMillis = 5000

// sqliteDialect is the embedded SQLite file.
var sqliteDialect = &dialect{
	name:         "sqlite",
	now:          "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
	insertIgnore: "INSERT OR IGNORE",
	// Transactions begin IMMEDIATE (see openSQLite): they hold the write
	// lock of the whole database from their first statement, so a
	// read-then-write needs no row locks and cannot deadlock.
	lock:        "",
	schema:      sqliteSchema,
	txDDL:       true,
	tableExists: "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
	isDuplicate: func(err error) bool {
		c := sqliteCode(err)
		return c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || c == sqlite3.SQLITE_CONSTRAINT_UNIQUE
	},
	isRetryable: func(err error) bool {
		c := sqliteCode(err) & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	},
	// A file is never unreachable; failures to open it are reported as
	// they are.
	isConnErr:     func(error) bool { return false },
	isNodeFailure: func(error) bool { return false },
	// There are no accounts.
	isDenied: func(error) bool { return false },
}

// sqliteCode returns the extended SQLite result code in err, or 0.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

// openSQLite returns a connection pool for the database file at path,
// creating the file (0600) and its directory (0700) if needed: the
// registry holds room verifiers, which are for this user only.
func openSQLite(path string) (*sql.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	// Created here rather than by SQLite so that the mode does not depend
	// on the umask; SQLite gives its -wal and -shm files the same mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}

	q := url.Values{}
	// busy_timeout first (the driver orders it so): the other pragmas may
	// themselves have to wait for another process.
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeoutMillis))
	// WAL: readers do not block the writer nor the writer readers, across
	// processes on this machine.
	q.Add("_pragma", "journal_mode(WAL)")
	// In WAL mode NORMAL cannot corrupt the database; a power cut may lose
	// the last transactions, which for leases that expire anyway is fine,
	// and it spares an fsync per heartbeat.
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// BEGIN IMMEDIATE: a transaction takes the write lock at its start. A
	// DEFERRED transaction that reads and then writes can find another
	// writer ahead of it and fail with SQLITE_BUSY at once, busy_timeout
	// or not, since waiting could deadlock.
	q.Add("_txlock", "immediate")
	uriPath := filepath.ToSlash(path)
	if uriPath[0] != '/' {
		uriPath = "/" + uriPath // file:/C:/Users/... on Windows
	}
	dsn := "file:" + (&url.URL{Path: uriPath}).EscapedPath() + "?" + q.Encode()

	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	// One connection per process: the writers of one process queue in
	// database/sql, in order, instead of polling SQLite's lock through
	// busy_timeout, which is slow and unfair under contention. Other
	// processes still share the file through SQLite's locks.
	db.SetMaxOpenConns(1)
	// Keep it open: opening a connection re-runs the pragmas.
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}
