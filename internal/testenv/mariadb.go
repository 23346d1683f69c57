package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// mariadbPackage provides mariadbd and mariadb-install-db. (The package
// mariadb-server depends on it and adds a system service we do not use.)
const mariadbPackage = "mariadb-server-core"

// adminUser is the account that DSNs name. It has every privilege, so
// tests can also inspect rows and EXPLAIN queries with it.
const adminUser = "sunoye"

// MariaDBServer is a private MariaDB server on loopback.
type MariaDBServer struct {
	bin      string // mariadbd
	dir      string // holds the datadir, the socket and the log
	port     int
	password string   // of adminUser
	database string   // for DSN
	extra    []string // more mariadbd options (TLS)
	// startTimeout bounds a start; zero means readyTimeout. A Galera node
	// that joins a cluster opens its socket only after the state transfer.
	startTimeout time.Duration

	mu   sync.Mutex
	proc *process // nil while stopped
}

// mariadbBins are the programs a MariaDB server needs.
type mariadbBins struct {
	mariadbd, installDB string
}

func needMariaDB(t testing.TB) mariadbBins {
	t.Helper()
	return mariadbBins{
		mariadbd:  NeedBinary(t, "mariadbd", mariadbPackage),
		installDB: NeedBinary(t, "mariadb-install-db", mariadbPackage),
	}
}

// StartMariaDB starts a private MariaDB server for one test, for tests
// that stop and start the server, and returns it. The server has an empty
// database "sunoye", and is stopped and removed when the test ends.
func StartMariaDB(t testing.TB) *MariaDBServer {
	t.Helper()
	bins := needMariaDB(t)
	dir := shortTempDir(t, "mdb")
	s, err := startMariaDBServer(bins, dir)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(s.stop)
	s.database = "sunoye"
	if err := s.createDatabase(s.database); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return s
}

// DSN returns the DSN of the server's database "sunoye", in the form
// "mysql://USER:PASSWORD@127.0.0.1:PORT/sunoye".
func (s *MariaDBServer) DSN() string { return s.dsn(s.database) }

// Stop stops the server (SIGTERM, which MariaDB answers with a clean
// shutdown) and waits until it has exited. The data and the port are kept
// for Start. Stopping a stopped server does nothing.
func (s *MariaDBServer) Stop(t testing.TB) {
	t.Helper()
	s.stop()
}

// Start starts a stopped server again, on the same port with the same
// data, and waits until it accepts connections.
func (s *MariaDBServer) Start(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	running := s.proc != nil
	s.mu.Unlock()
	if running {
		t.Fatalf("testenv: MariaDBServer.Start: server on port %d is already running", s.port)
	}
	if err := s.start(); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}

// Kill kills the server with SIGKILL, as a crash or a power loss would,
// and waits until it has exited. Start starts it again.
func (s *MariaDBServer) Kill(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		t.Fatalf("testenv: mariadbd on port %d is not running", s.port)
	}
	s.proc.cmd.Process.Kill()
	<-s.proc.exited
	s.proc = nil
}

// PID returns the server's process id, 0 while it is stopped.
func (s *MariaDBServer) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.cmd.Process.Pid
}

// Addr returns the server's SQL address, "127.0.0.1:PORT".
func (s *MariaDBServer) Addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

func (s *MariaDBServer) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		s.proc.stop()
		s.proc = nil
	}
}

// startMariaDBServer makes a datadir in dir, starts a server on it on a
// free port, and creates adminUser.
func startMariaDBServer(bins mariadbBins, dir string, extra ...string) (*MariaDBServer, error) {
	s := &MariaDBServer{
		bin:      bins.mariadbd,
		dir:      dir,
		password: rand.Text(),
		extra:    extra,
	}
	if err := s.install(bins.installDB); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s.port = port
		err = s.start()
		if err == nil {
			break
		}
		if !errors.Is(err, errPortTaken) || attempt == 3 {
			return nil, err
		}
	}
	if err := s.createAdmin(); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// serverOptions are the options for both mariadb-install-db and mariadbd:
// small, fast, and nothing read from the system's config files.
func (s *MariaDBServer) serverOptions() []string {
	return []string{
		"--no-defaults", // must come first
		"--datadir=" + filepath.Join(s.dir, "data"),
		// Temporary tables in our own directory, not /tmp: installs that
		// run at once in other PID namespaces sharing /tmp (CI runners,
		// containers) can pick the same file names (#sql-temptable-PID-…)
		// and break each other ("Unknown table 'mysql.tmp_proxies_priv'").
		"--tmpdir=" + s.dir,
		// As root, mariadbd refuses to run without --user; naming
		// ourselves keeps it from switching to the user mysql.
		"--user=" + userName(),
		"--skip-log-bin",
		"--innodb-buffer-pool-size=64M",
		"--innodb-log-file-size=16M",
		// Tests need no durability against power loss; a clean shutdown
		// (Stop) still writes everything.
		"--innodb-flush-log-at-trx-commit=2",
		"--performance-schema=OFF",
		// What Debian's /etc/mysql configures, which --no-defaults skips;
		// the compiled-in default is latin1.
		"--character-set-server=utf8mb4",
		"--collation-server=utf8mb4_general_ci",
	}
}

// install makes the datadir with the system tables.
func (s *MariaDBServer) install(installDB string) error {
	args := append(s.serverOptions(),
		"--auth-root-authentication-method=normal",
		"--skip-test-db",
	)
	out, err := exec.Command(installDB, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mariadb-install-db: %w\n%s", err, out)
	}
	return nil
}

// start runs mariadbd and waits until it answers on its socket and port.
func (s *MariaDBServer) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	args := append(s.serverOptions(),
		fmt.Sprintf("--port=%d", s.port),
		"--bind-address=127.0.0.1",
		"--skip-networking=0",
		"--socket="+s.socket(),
		"--pid-file="+filepath.Join(s.dir, "mariadbd.pid"),
		// Accounts are for 127.0.0.1 and %, and nothing here needs DNS.
		"--skip-name-resolve",
	)
	args = append(args, s.extra...)
	p, err := startProcess("mariadbd", filepath.Join(s.dir, "mariadbd.log"), exec.Command(s.bin, args...))
	if err != nil {
		return err
	}
	timeout := s.startTimeout
	if timeout == 0 {
		timeout = readyTimeout
	}
	err = p.waitReady(timeout, func() error {
		if err := s.pingSocket(); err != nil {
			return err
		}
		return dialTCP(fmt.Sprintf("127.0.0.1:%d", s.port))
	})
	if err != nil {
		p.stop()
		if p.addrInUse() {
			return fmt.Errorf("%w: %w", errPortTaken, err)
		}
		return err
	}
	s.proc = p
	return nil
}

// socket returns the path of the server's unix socket, which is how we
// reach it as root before any account with a password exists.
func (s *MariaDBServer) socket() string { return filepath.Join(s.dir, "mysql.sock") }

// rootDB opens a connection pool to the server as root over the socket.
func (s *MariaDBServer) rootDB() (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User = "root"
	cfg.Net = "unix"
	cfg.Addr = s.socket()
	cfg.Timeout = 2 * time.Second
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to mariadbd as root: %w", err)
	}
	return sql.OpenDB(conn), nil
}

func (s *MariaDBServer) pingSocket() error {
	db, err := s.rootDB()
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

// createAdmin creates adminUser, with a password so that DSNs carry
// credentials like real ones, and with every privilege.
func (s *MariaDBServer) createAdmin() error {
	// The password is base32 text, so it can be quoted as is; CREATE USER
	// does not take placeholders.
	return s.rootExec(
		fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", adminUser, s.password),
		fmt.Sprintf("GRANT ALL PRIVILEGES ON *.* TO '%s'@'%%' WITH GRANT OPTION", adminUser),
	)
}

// createDatabase creates the named, new database.
func (s *MariaDBServer) createDatabase(name string) error {
	return s.rootExec(fmt.Sprintf("CREATE DATABASE `%s`", name))
}

// rootExec runs statements as root.
func (s *MariaDBServer) rootExec(stmts ...string) error {
	db, err := s.rootDB()
	if err != nil {
		return err
	}
	defer db.Close()
	for _, stmt := range stmts {
		if _, err := db.Exec(stmt); err != nil {
			return fmt.Errorf("mariadb: %s: %w", stmt, err)
		}
	}
	return nil
}

// dsn returns the DSN of the named database, as adminUser over TCP.
func (s *MariaDBServer) dsn(database string) string {
	u := url.URL{
		Scheme: "mysql",
		User:   url.UserPassword(adminUser, s.password),
		Host:   fmt.Sprintf("127.0.0.1:%d", s.port),
		Path:   "/" + database,
	}
	return u.String()
}

// removeAll stops the server and removes its files.
func (s *MariaDBServer) removeAll() {
	s.stop()
	os.RemoveAll(s.dir)
}
