package testenv

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// shared is the MariaDB server that MariaDB hands out databases on. It is
// started by the first test that needs it and stopped by Main, because
// starting a server per test would cost a second each.
var shared struct {
	once sync.Once
	srv  *MariaDBServer
	err  error // why the server could not be started; every later test fails with it

	databases atomic.Int64 // numbers the databases, to keep names unique
}

// MariaDB returns the DSN of a new, empty database on a MariaDB server
// shared by all tests of the package, in the form
// "mysql://USER:PASSWORD@127.0.0.1:PORT/DBNAME". Every call creates a
// database with a new name, so tests can run in parallel.
//
// The server is started by the first call and stopped, with its data
// removed, by Main after all tests; MariaDB fails tests that do not run
// under Main, since nothing would stop the server then.
func MariaDB(t testing.TB) string {
	t.Helper()
	bins := needMariaDB(t)
	if !mainRunning.Load() {
		t.Fatal("testenv: MariaDB needs the package's TestMain to call testenv.Main(m), which stops the shared server")
	}
	shared.once.Do(func() {
		dir, err := makeShortTempDir("mdb")
		if err != nil {
			shared.err = err
			return
		}
		srv, err := startMariaDBServer(bins, dir)
		if err != nil {
			os.RemoveAll(dir)
			shared.err = err
			return
		}
		shared.srv = srv
		onExit(srv.removeAll)
	})
	if shared.err != nil {
		t.Fatalf("testenv: starting the shared MariaDB: %v", shared.err)
	}
	name := databaseName(t.Name(), shared.databases.Add(1))
	if err := shared.srv.createDatabase(name); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return shared.srv.dsn(name)
}

// databaseName returns a database name made of n and as much of the test's
// name as fits, so that someone looking at the server sees whose it is.
func databaseName(testName string, n int64) string {
	const maxLen = 64 // MariaDB's limit for identifiers
	name := fmt.Sprintf("t%d_", n)
	var b strings.Builder
	b.WriteString(name)
	for _, r := range strings.ToLower(testName) {
		if b.Len() == maxLen {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}
