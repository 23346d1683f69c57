package db

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
)

func TestParseDSN(t *testing.T) {
	for _, tc := range []struct {
		dsn, where string
		addr, user string
		pass, db   string
	}{
		{dsn: "mysql://sunoye:secret@127.0.0.1/sunoye", where: "mysql://sunoye@127.0.0.1:3306/sunoye",
			addr: "127.0.0.1:3306", user: "sunoye", pass: "secret", db: "sunoye"},
		{dsn: "mysql://a%40b:p%40ss%3Aw%2Fd@db.example:3307/rooms?tls=skip-verify&timeout=5s",
			where: "mysql://a%40b@db.example:3307/rooms", addr: "db.example:3307", user: "a@b", pass: "p@ss:w/d", db: "rooms"},
		{dsn: "mysql://u:p@last@[::1]:3306/d", where: "mysql://u@[::1]:3306/d", addr: "[::1]:3306", user: "u", pass: "p@last", db: "d"},
		{dsn: "MYSQL://nopass@h/d", where: "mysql://nopass@h:3306/d", addr: "h:3306", user: "nopass", db: "d"},
	} {
		got, err := parseDSN(tc.dsn)
		if err != nil {
			t.Errorf("parseDSN(%q): %v", tc.dsn, err)
			continue
		}
		c := got.mysql
		if got.where != tc.where || c.Addr != tc.addr || c.User != tc.user || c.Passwd != tc.pass || c.DBName != tc.db || c.Net != "tcp" {
			t.Errorf("parseDSN(%q) = %q %s %s %s %s, want %q %s %s %s %s", tc.dsn,
				got.where, c.Addr, c.User, c.Passwd, c.DBName, tc.where, tc.addr, tc.user, tc.pass, tc.db)
		}
	}
	got, err := parseDSN("mysql://u:p@h/d?timeout=7s&tls=true")
	if err != nil || got.mysql.Timeout != 7*time.Second || got.mysql.TLS == nil || got.mysql.TLS.ServerName != "h" {
		t.Errorf("parameters not passed on to the driver: %+v, %v", got.mysql, err)
	}

	abs := filepath.Join(t.TempDir(), "rooms.db")
	got, err = parseDSN(SQLiteDSN(abs))
	if err != nil || got.path != abs || got.where != "sqlite:///"+strings.TrimPrefix(filepath.ToSlash(abs), "/") {
		t.Errorf("sqlite DSN: %+v, %v", got, err)
	}
}

// The default registry's DSN is built from the state directory's path:
// on Windows that has a drive letter and backslashes (Z:\home\me under
// Wine), and anywhere it may hold characters a URL gives a meaning.
func TestSQLiteDSN(t *testing.T) {
	for slashed, want := range map[string]string{
		"/home/me/.local/state/sunoye/registry.db":     "sqlite:///home/me/.local/state/sunoye/registry.db",
		"C:/Users/me/AppData/Local/SunOye/registry.db": "sqlite:///C:/Users/me/AppData/Local/SunOye/registry.db",
		"Z:/home/me/a b/#1?/50%.db":                    "sqlite:///Z:/home/me/a%20b/%231%3F/50%25.db",
	} {
		if got := sqliteURL(slashed); got != want {
			t.Errorf("sqliteURL(%q) = %q, want %q", slashed, got, want)
		}
	}
	// What this system's paths read back as: themselves.
	for _, name := range []string{"registry.db", "a b#?%.db"} {
		abs := filepath.Join(t.TempDir(), name)
		got, err := parseDSN(SQLiteDSN(abs))
		if err != nil || got.path != abs {
			t.Errorf("parseDSN(SQLiteDSN(%q)) = %+v, %v", abs, got, err)
		}
	}
}

func TestBadDSN(t *testing.T) {
	for _, dsn := range []string{
		"",
		"rooms.db",
		"postgres://u:hunter2@h/d",
		"mysql://h/d",               // no user
		"mysql://u:hunter2@/d",      // no host
		"mysql://u:hunter2@h",       // no database
		"mysql://u:hunter2@h/",      // no database
		"mysql://u:hunter2@h:0/d",   // bad port
		"mysql://u:hunter2@h:x/d",   // bad port
		"mysql://u:hun/ter2@h/d",    // unescaped slash in the password
		"mysql://u:123/hunter2@h/d", // the same, parsing as port 123
		"mysql://u:hunter2@h/d/e",   // two path segments
		"mysql://u:hunter2@h/d?tls=maybe",
		"mysql://u:hunter2@h/d?timeout=soon",
		"mysql://u:hunter2@h/d#x",
		"sqlite:rooms.db",            // relative
		"sqlite://rooms.db",          // relative, looks like a host
		"sqlite:///tmp/x.db?mode=ro", // parameters
		"sqlite:///tmp/dir/",
	} {
		_, err := Open(context.Background(), dsn)
		if !errors.Is(err, ErrBadDSN) {
			t.Errorf("Open(%q): %v, want ErrBadDSN", dsn, err)
			continue
		}
		for _, secret := range []string{"hunter2", "ter2"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("Open(%q): the error shows the password: %v", dsn, err)
			}
		}
		if !strings.Contains(err.Error(), "mysql://USER:PASSWORD@HOST") || !strings.Contains(err.Error(), "sqlite:///") {
			t.Errorf("Open(%q): the error does not show the accepted forms: %v", dsn, err)
		}
		if r := Redact(dsn); strings.Contains(r, "hunter2") || strings.Contains(r, "ter2") {
			t.Errorf("Redact(%q) = %q shows the password", dsn, r)
		}
	}
}

func TestRedact(t *testing.T) {
	for dsn, want := range map[string]string{
		"mysql://sunoye:secret@127.0.0.1:3306/sunoye?tls=true": "mysql://sunoye@127.0.0.1:3306/sunoye",
		"mysql://sunoye:secret@db/sunoye":                      "mysql://sunoye@db:3306/sunoye",
		sqliteURL(absSlashed("/var/lib/sunoye/rooms.db")):      sqliteURL(absSlashed("/var/lib/sunoye/rooms.db")),
		"mysql://u:sec/ret@h/d":                                "mysql://…",
		"user:secret@tcp(h:3306)/d":                            "(malformed DSN)",
	} {
		if got := Redact(dsn); got != want {
			t.Errorf("Redact(%q) = %q, want %q", dsn, got, want)
		}
	}
}

// closedPort returns a loopback port on which nothing listens.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	return port
}

func TestOpenUnreachable(t *testing.T) {
	const password = "p@ss:w0rd"
	port := closedPort(t)
	dsn := "mysql://sunoye:" + url.QueryEscape(password) + "@127.0.0.1:" + port + "/sunoye"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Open(ctx, dsn)
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	t.Log(err)
	if !errors.Is(err, ErrUnreachable) || !errors.Is(err, rooms.ErrUnavailable) {
		t.Errorf("error %v does not match ErrUnreachable and rooms.ErrUnavailable", err)
	}
	want := "registry mysql://sunoye@127.0.0.1:" + port + "/sunoye: unreachable: "
	if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("error %q, want %q and why", err, want+"…connection refused")
	}
	assertNoPassword(t, err, password)
}

// assertNoPassword fails the test if err shows password, plain or escaped.
func assertNoPassword(t *testing.T, err error, password string) {
	t.Helper()
	for _, s := range []string{password, url.QueryEscape(password), url.PathEscape(password)} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error shows the password: %v", err)
		}
	}
}

func TestOpenWrongPassword(t *testing.T) {
	u, err := url.Parse(testenv.MariaDB(t))
	if err != nil {
		t.Fatal(err)
	}
	const password = "not-the-password"
	u.User = url.UserPassword(u.User.Username(), password)
	_, err = Open(testCtx(t), u.String())
	if err == nil {
		t.Fatal("Open with a wrong password succeeded")
	}
	t.Log(err)
	if errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "Access denied") {
		t.Errorf("error %v, want access denied (and not unreachable)", err)
	}
	if !strings.HasPrefix(err.Error(), "registry "+Redact(u.String())+": ") {
		t.Errorf("error %v does not name the registry", err)
	}
	assertNoPassword(t, err, password)
}

func TestSQLiteFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix file modes: the registry's privacy there is its directory's ACL (%LocalAppData%)")
	}
	dir := filepath.Join(t.TempDir(), "new", "dir")
	path := filepath.Join(dir, "rooms.db")
	open(t, SQLiteDSN(path))
	for p, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
	}
}

// While the database server is down, operations fail as unreachable,
// naming the registry without its password; when it is back, a member's
// lapsed lease is renewed.
func TestServerDown(t *testing.T) {
	srv := testenv.StartMariaDB(t)
	dsn := srv.DSN()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	password, _ := u.User.Password()
	r := open(t, dsn)
	ctx := testCtx(t)
	rec, m := create(t, ctx, r, time.Second)
	leases := []rooms.Lease{lease(rec, m)}

	srv.Stop(t)
	start := time.Now()
	_, _, err = r.Renew(ctx, leases, longTTL)
	t.Log(err)
	if !errors.Is(err, ErrUnreachable) || !errors.Is(err, rooms.ErrUnavailable) {
		t.Errorf("Renew while down: %v, want ErrUnreachable", err)
	} else if !strings.Contains(err.Error(), "registry "+Redact(dsn)+": unreachable: ") {
		t.Errorf("Renew while down: %v does not name the registry", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("Renew while down took %v", time.Since(start))
	}
	if password != "" {
		assertNoPassword(t, err, password)
	}
	if _, _, err := r.Lookup(ctx, rec.ID); !errors.Is(err, ErrUnreachable) {
		t.Errorf("Lookup while down: %v, want ErrUnreachable", err)
	}
	time.Sleep(time.Second) // the lease lapses meanwhile

	srv.Start(t)
	counts, gone, err := r.Renew(ctx, leases, longTTL)
	if err != nil {
		t.Fatalf("Renew after restart: %v", err)
	}
	if counts[rec.ID] != 1 || len(gone) != 0 {
		t.Errorf("Renew after restart: counts %v, gone %v; want the lease restored", counts, gone)
	}
}

// Probe reports the schema a registry has without changing anything: on a
// fresh MariaDB database and a missing SQLite file it finds none and
// creates nothing; after Open it finds the current version; an unreachable
// server is reported as such.
func TestProbe(t *testing.T) {
	ctx := testCtx(t)
	mysql := testenv.MariaDB(t)
	path := filepath.Join(t.TempDir(), "sub", "registry.db")
	for name, dsn := range map[string]string{"mariadb": mysql, "sqlite": SQLiteDSN(path)} {
		t.Run(name, func(t *testing.T) {
			have, want, err := Probe(ctx, dsn)
			if err != nil || have != 0 || want != schemaVersion {
				t.Fatalf("Probe of an empty registry = %d, %d, %v; want 0, %d", have, want, err, schemaVersion)
			}
			open(t, dsn) // applies the schema
			if have, _, err := Probe(ctx, dsn); err != nil || have != schemaVersion {
				t.Errorf("Probe after Open = %d, %v; want %d", have, err, schemaVersion)
			}
		})
	}
	// The first Probes changed nothing: checked before Open ran, by
	// running them again on another empty database and file.
	fresh := testenv.MariaDB(t)
	other := filepath.Join(t.TempDir(), "other", "registry.db")
	for _, dsn := range []string{fresh, SQLiteDSN(other)} {
		if _, _, err := Probe(ctx, dsn); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := testenv.SQL(t, fresh).QueryRow(`SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()`).Scan(&n); err != nil || n != 0 {
		t.Errorf("after Probe the database has %d tables (%v), want none", n, err)
	}
	if _, err := os.Stat(filepath.Dir(other)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Probe created %s (%v)", filepath.Dir(other), err)
	}
	if _, _, err := Probe(ctx, "mysql://u:p@127.0.0.1:"+closedPort(t)+"/x"); !errors.Is(err, ErrUnreachable) {
		t.Errorf("Probe of a closed port: %v, want ErrUnreachable", err)
	}
}

// absSlashed is the absolute path, with forward slashes, that p names on
// this system: p itself, or on Windows C:p (a path without a drive is not
// absolute there).
func absSlashed(p string) string {
	if runtime.GOOS == "windows" {
		return "C:" + p
	}
	return p
}
