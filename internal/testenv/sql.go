package testenv

import (
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// SQL opens a connection pool to the database of dsn (as returned by
// MariaDB or MariaDBServer.DSN), for tests that look at rows or EXPLAIN
// queries behind the code under test. The pool is closed when the test
// ends. The DSN's account has every privilege.
func SQL(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	conn, err := connector(dsn)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	db := sql.OpenDB(conn)
	t.Cleanup(func() { db.Close() })
	return db
}

// Exec runs one statement on the database of dsn, failing the test if it
// fails.
func Exec(t testing.TB, dsn, query string, args ...any) sql.Result {
	t.Helper()
	conn, err := connector(dsn)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	res, err := db.Exec(query, args...)
	if err != nil {
		t.Fatalf("testenv: Exec %q: %v", query, err)
	}
	return res
}

// connector turns a DSN of the form mysql://USER:PASSWORD@HOST:PORT/DB,
// which is what SunOye's configuration uses, into a connector of the
// MySQL driver, whose own DSN syntax differs.
func connector(dsn string) (driver.Connector, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("parsing DSN: %w", err)
	}
	if u.Scheme != "mysql" {
		return nil, fmt.Errorf("DSN %q: scheme is not mysql", u.Redacted())
	}
	cfg := mysql.NewConfig()
	cfg.Net = "tcp"
	cfg.Addr = u.Host
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	cfg.Timeout = 5 * time.Second
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("DSN %q: %w", u.Redacted(), err)
	}
	return conn, nil
}

// MariaDBAccount creates a new account, with a random name and password
// and no privileges, on the server of dsn (as returned by MariaDB or
// MariaDBServer.DSN, whose account may create accounts), and returns its
// user name, its host ("%") and a DSN of dsn's database for it. The test
// grants it what it should have, through dsn. The account is dropped when
// the test ends.
func MariaDBAccount(t testing.TB, dsn string) (user, host, accountDSN string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("testenv: parsing DSN: %v", err)
	}
	user, host = "member_"+strings.ToLower(rand.Text()[:12]), "%"
	password := rand.Text()
	// CREATE USER takes no placeholders; both are base32 text.
	Exec(t, dsn, fmt.Sprintf("CREATE USER '%s'@'%s' IDENTIFIED BY '%s'", user, host, password))
	t.Cleanup(func() {
		conn, err := connector(dsn)
		if err != nil {
			return
		}
		db := sql.OpenDB(conn)
		defer db.Close()
		db.Exec(fmt.Sprintf("DROP USER IF EXISTS '%s'@'%s'", user, host))
	})
	u.User = url.UserPassword(user, password)
	return user, host, u.String()
}
