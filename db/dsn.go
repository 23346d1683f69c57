package db

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// ErrBadDSN is returned (wrapped) by Open for a DSN that is not one of the
// accepted forms.
var ErrBadDSN = errors.New("bad registry DSN")

// dsnForms is what a bad-DSN error suggests instead.
const dsnForms = "use mysql://USER:PASSWORD@HOST[:PORT]/DATABASE[?PARAM=VALUE&...] " +
	"(escape @ : / ? # % in the user name and password, e.g. @ as %40) " +
	"or sqlite:///ABSOLUTE/PATH"

// defaultMySQLPort is used when a mysql DSN names no port.
const defaultMySQLPort = "3306"

// target is a parsed DSN: which database, where, and how to reach it.
type target struct {
	// where is the DSN without the password and query, normalized (with
	// the port): what errors and logs show.
	where string
	// mysql is set for a mysql DSN: the driver configuration, password
	// included.
	mysql *mysql.Config
	// path is set for a sqlite DSN: the database file, absolute.
	path string
}

// badDSN builds the error for a malformed DSN. The reason must not quote
// the DSN: a malformed one may have its password anywhere.
func badDSN(reason string) error {
	return fmt.Errorf("%w: %s; %s", ErrBadDSN, reason, dsnForms)
}

// parseDSN reads a registry DSN.
func parseDSN(dsn string) (*target, error) {
	scheme, _, ok := strings.Cut(dsn, ":")
	if !ok || scheme == "" {
		return nil, badDSN("no scheme")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		// The url package's errors quote the input, password included.
		return nil, badDSN("cannot parse it as a URL")
	}
	switch strings.ToLower(u.Scheme) {
	case "mysql":
		return parseMySQL(u)
	case "sqlite":
		return parseSQLite(u)
	default:
		return nil, badDSN(fmt.Sprintf("unknown scheme %q", u.Scheme))
	}
}

func parseMySQL(u *url.URL) (*target, error) {
	if u.Opaque != "" || u.Host == "" {
		return nil, badDSN("mysql DSN without a host")
	}
	if u.Fragment != "" {
		return nil, badDSN("mysql DSN with a # fragment")
	}
	if u.User == nil || u.User.Username() == "" {
		return nil, badDSN("mysql DSN without a user name")
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return nil, badDSN("mysql DSN without a host")
	}
	if port == "" {
		port = defaultMySQLPort
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, badDSN("mysql DSN with a bad port")
	}
	dbname := strings.TrimPrefix(u.Path, "/")
	if dbname == "" {
		return nil, badDSN("mysql DSN without a database name")
	}
	if strings.Contains(dbname, "/") {
		return nil, badDSN("mysql DSN whose database name has a slash (a / in the password must be escaped as %2F)")
	}
	addr := net.JoinHostPort(host, port)

	// The driver's own DSN format carries the address, database and
	// parameters; the query parameters of our URL are passed on as they
	// are (both are URL-encoded). User and password are set afterwards so
	// that they never need escaping for the driver's format.
	// ca=FILE is ours, not the driver's: TLS that trusts the CA in FILE
	// (a company's or a cloud provider's), which the driver can only
	// take as a registered config, not in a DSN.
	q := u.Query()
	caFile := q.Get("ca")
	q.Del("ca")
	cfg, err := mysql.ParseDSN("tcp(" + addr + ")/" + url.PathEscape(dbname) + "?" + q.Encode())
	if err != nil {
		return nil, badDSN("mysql DSN parameters: " + err.Error())
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, badDSN("mysql DSN ca=: " + err.Error())
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, badDSN("mysql DSN ca=: no PEM certificate in " + caFile)
		}
		cfg.TLS = &tls.Config{RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12}
	}
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()

	where := (&url.URL{Scheme: "mysql", User: url.User(cfg.User), Host: addr, Path: "/" + dbname}).String()
	return &target{where: where, mysql: cfg}, nil
}

func parseSQLite(u *url.URL) (*target, error) {
	// Relative paths (sqlite:rooms.db, sqlite://rooms.db) are refused: a
	// daemon's working directory is an accident of how it was started, and
	// two daemons meant to share a registry would silently not.
	if u.Opaque != "" || (u.Host != "" && u.Host != "localhost") {
		return nil, badDSN("sqlite DSN without an absolute path (three slashes: sqlite:///home/me/rooms.db)")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, badDSN("sqlite DSN with parameters (none are accepted)")
	}
	p := u.Path
	if runtime.GOOS == "windows" && len(p) >= 3 && p[0] == '/' && p[2] == ':' {
		p = p[1:] // sqlite:///C:/Users/me/rooms.db
	}
	p = filepath.FromSlash(p)
	if !filepath.IsAbs(p) {
		return nil, badDSN("sqlite DSN without an absolute path")
	}
	p = filepath.Clean(p)
	if strings.HasSuffix(u.Path, "/") {
		return nil, badDSN("sqlite DSN naming a directory, not a file")
	}
	where := "sqlite://" + filepath.ToSlash(p)
	if !strings.HasPrefix(where, "sqlite:///") {
		where = "sqlite:///" + strings.TrimPrefix(where, "sqlite://")
	}
	return &target{where: where, path: p}, nil
}

// SQLiteDSN is the registry DSN of the SQLite file at path (absolute):
// sqlite:///home/me/rooms.db, and on Windows sqlite:///C:/Users/me/rooms.db
// (a drive letter after the third slash). Characters a URL gives a meaning
// (space, #, ?, %) are escaped, so any path reads back as itself.
func SQLiteDSN(path string) string { return sqliteURL(filepath.ToSlash(path)) }

// sqliteURL builds the DSN from a path with forward slashes, whatever
// system this is: "/home/me/x.db" or "C:/Users/me/x.db".
func sqliteURL(slashed string) string {
	if !strings.HasPrefix(slashed, "/") {
		slashed = "/" + slashed
	}
	return (&url.URL{Scheme: "sqlite", Path: slashed}).String()
}

// Redact returns dsn without its password and query parameters, for
// messages and logs: "mysql://sunoye@db.example:3306/sunoye". A DSN that
// does not parse is reduced to its scheme, since its password could be
// anywhere in it.
func Redact(dsn string) string {
	if t, err := parseDSN(dsn); err == nil {
		return t.where
	}
	scheme, _, _ := strings.Cut(dsn, ":")
	switch scheme = strings.ToLower(scheme); scheme {
	case "mysql", "sqlite":
		return scheme + "://…"
	}
	return "(malformed DSN)"
}

// Check reports whether dsn is a registry DSN Open would accept, without
// connecting.
func Check(dsn string) error {
	_, err := parseDSN(dsn)
	return err
}
