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
	"slices"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// ErrBadDSN is returned (wrapped) by Open for a DSN that is not one of the
// accepted forms.
var ErrBadDSN = errors.New("bad registry DSN")

// dsnForms is what a bad-DSN error suggests instead.
const dsnForms = "use mysql://USER:PASSWORD@HOST[:PORT][,HOST[:PORT]...]/DATABASE[?PARAM=VALUE&...] " +
	"(escape @ : / ? # % in the user name and password, e.g. @ as %40) " +
	"or sqlite:///ABSOLUTE/PATH"

// defaultMySQLPort is used when a mysql DSN names no port.
const defaultMySQLPort = "3306"

// maxHosts bounds the hosts of one mysql DSN: the nodes of one cluster.
const maxHosts = 16

// target is a parsed DSN: which database, where, and how to reach it.
type target struct {
	// where is the DSN without the password and query, normalized (with
	// the port): what errors and logs show.
	where string
	// mysql is set for a mysql DSN: the driver configuration of its
	// first host, password included.
	mysql *mysql.Config
	// hosts are the configurations of every host of a mysql DSN, in the
	// DSN's order (hosts[0] is mysql): the servers of one database, tried
	// in turn (failover.go).
	hosts []*mysql.Config
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
	var hosts []string
	if strings.EqualFold(scheme, "mysql") {
		var err error
		if dsn, hosts, err = cutHostList(dsn); err != nil {
			return nil, err
		}
	}
	u, err := url.Parse(dsn)
	if err != nil {
		// The url package's errors quote the input, password included.
		return nil, badDSN("cannot parse it as a URL")
	}
	switch strings.ToLower(u.Scheme) {
	case "mysql":
		return parseMySQL(u, hosts)
	case "sqlite":
		return parseSQLite(u)
	default:
		return nil, badDSN(fmt.Sprintf("unknown scheme %q", u.Scheme))
	}
}

// cutHostList takes the list of hosts out of a mysql DSN with several
// (mysql://USER:PASSWORD@H1:3306,H2:3306/DATABASE), which url.Parse
// refuses, and returns the DSN with its first host only, and the others.
// A DSN with one host is returned as it is.
func cutHostList(dsn string) (string, []string, error) {
	start, end, ok := hostSpan(dsn)
	if !ok {
		return dsn, nil, nil // not a URL with a host; parseMySQL says why
	}
	list := dsn[start:end]
	if !strings.Contains(list, ",") {
		return dsn, nil, nil
	}
	hosts := strings.Split(list, ",")
	if len(hosts) > maxHosts {
		return "", nil, badDSN(fmt.Sprintf("mysql DSN with %d hosts; at most %d", len(hosts), maxHosts))
	}
	for _, h := range hosts {
		if h == "" {
			return "", nil, badDSN("mysql DSN with an empty host in its list of hosts (HOST1:PORT,HOST2:PORT, no spaces)")
		}
	}
	return dsn[:start] + hosts[0] + dsn[end:], hosts[1:], nil
}

// hostSpan returns where the host (or list of hosts) of a URL is: after
// "//" and the user information, which ends at the last @ as for
// url.Parse (a password may hold an unescaped @ or comma), and before the
// path, query or fragment.
func hostSpan(dsn string) (start, end int, ok bool) {
	_, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return 0, 0, false
	}
	start = len(dsn) - len(rest)
	end = len(dsn)
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		end = start + i
	}
	if at := strings.LastIndex(dsn[start:end], "@"); at >= 0 {
		start += at + 1
	}
	return start, end, true
}

// hostPort returns the host and port of u, a URL whose Host is one
// server, or why they are bad.
func hostPort(u *url.URL) (host, port string, err error) {
	host, port = u.Hostname(), u.Port()
	if host == "" {
		return "", "", badDSN("mysql DSN without a host")
	}
	if port == "" {
		port = defaultMySQLPort
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", "", badDSN("mysql DSN with a bad port")
	}
	return host, port, nil
}

// parseMySQL reads a mysql DSN, whose URL names its first host; more are
// the other hosts of its list.
func parseMySQL(u *url.URL, more []string) (*target, error) {
	if u.Opaque != "" || u.Host == "" {
		return nil, badDSN("mysql DSN without a host")
	}
	if u.Fragment != "" {
		return nil, badDSN("mysql DSN with a # fragment")
	}
	if u.User == nil || u.User.Username() == "" {
		return nil, badDSN("mysql DSN without a user name")
	}
	dbname := strings.TrimPrefix(u.Path, "/")
	if dbname == "" {
		return nil, badDSN("mysql DSN without a database name")
	}
	if strings.Contains(dbname, "/") {
		return nil, badDSN("mysql DSN whose database name has a slash (a / in the password must be escaped as %2F)")
	}
	// ca=FILE is ours, not the driver's: TLS that trusts the CA in FILE
	// (a company's or a cloud provider's), which the driver can only
	// take as a registered config, not in a DSN.
	q := u.Query()
	caFile := q.Get("ca")
	q.Del("ca")
	var pool *x509.CertPool
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, badDSN("mysql DSN ca=: " + err.Error())
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, badDSN("mysql DSN ca=: no PEM certificate in " + caFile)
		}
	}

	t := &target{}
	addrs := make([]string, 0, 1+len(more))
	for i, h := range append([]string{u.Host}, more...) {
		hu := u
		if i > 0 {
			var err error
			// Each listed host is read as the host of a URL of its own.
			if hu, err = url.Parse("mysql://" + h); err != nil || hu.Host != h || hu.User != nil {
				return nil, badDSN(fmt.Sprintf("mysql DSN whose host number %d in the list is not HOST[:PORT]", i+1))
			}
		}
		host, port, err := hostPort(hu)
		if err != nil {
			return nil, err
		}
		addr := net.JoinHostPort(host, port)
		if slices.Contains(addrs, addr) {
			return nil, badDSN(fmt.Sprintf("mysql DSN that lists %s twice", addr))
		}
		addrs = append(addrs, addr)
		// The driver's own DSN format carries the address, database and
		// parameters; the query parameters of our URL are passed on as
		// they are (both are URL-encoded). User and password are set
		// afterwards so that they never need escaping for the driver's
		// format. Each host has its configuration: with TLS, its own
		// server name.
		cfg, err := mysql.ParseDSN("tcp(" + addr + ")/" + url.PathEscape(dbname) + "?" + q.Encode())
		if err != nil {
			return nil, badDSN("mysql DSN parameters: " + err.Error())
		}
		if pool != nil {
			cfg.TLS = &tls.Config{RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12}
		}
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
		t.hosts = append(t.hosts, cfg)
	}
	t.mysql = t.hosts[0]
	t.where = (&url.URL{Scheme: "mysql", User: url.User(t.mysql.User), Host: strings.Join(addrs, ","), Path: "/" + dbname}).String()
	return t, nil
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

// CutHosts returns dsn with its first host only, and the other hosts it
// lists: a DSN that url.Parse reads, for code that changes it (its
// password), and AddHosts puts the others back. A DSN of one host, or one
// that does not parse, is returned as it is.
func CutHosts(dsn string) (first string, more []string) {
	first, more, err := cutHostList(dsn)
	if err != nil {
		return dsn, nil
	}
	return first, more
}

// AddHosts returns dsn, a DSN of one host, with the hosts more listed
// after it; dsn itself without any.
func AddHosts(dsn string, more []string) string {
	_, end, ok := hostSpan(dsn)
	if len(more) == 0 || !ok {
		return dsn
	}
	return dsn[:end] + "," + strings.Join(more, ",") + dsn[end:]
}

// HostDSNs returns a DSN for each host that dsn lists, in its order, each
// the same but for the host: for checking each server on its own (sunoye
// doctor). A DSN of one host, or an SQLite DSN, is returned alone.
func HostDSNs(dsn string) ([]string, error) {
	if _, err := parseDSN(dsn); err != nil {
		return nil, err
	}
	first, more, err := cutHostList(dsn)
	if err != nil || len(more) == 0 {
		return []string{dsn}, err
	}
	u, err := url.Parse(first)
	if err != nil {
		return nil, badDSN("cannot parse it as a URL")
	}
	out := []string{first}
	for _, h := range more {
		v := *u
		v.Host = h
		out = append(out, v.String())
	}
	return out, nil
}
