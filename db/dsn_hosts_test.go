package db

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// A DSN lists several hosts, each with or without a port, IPv6 in
// brackets; every host gets the same user, password, database and
// parameters, and its own TLS server name.
func TestParseDSNHosts(t *testing.T) {
	got, err := parseDSN("mysql://u:p%2Cw@h1:3307,h2,[::1]:3309/d?tls=true&timeout=2s")
	if err != nil {
		t.Fatal(err)
	}
	if want := "mysql://u@h1:3307,h2:3306,[::1]:3309/d"; got.where != want {
		t.Errorf("where = %q, want %q", got.where, want)
	}
	var addrs, names []string
	for _, c := range got.hosts {
		addrs = append(addrs, c.Addr)
		names = append(names, c.TLS.ServerName)
		if c.User != "u" || c.Passwd != "p,w" || c.DBName != "d" || c.Timeout.String() != "2s" {
			t.Errorf("host %s: user %q password %q database %q timeout %v", c.Addr, c.User, c.Passwd, c.DBName, c.Timeout)
		}
	}
	if want := []string{"h1:3307", "h2:3306", "[::1]:3309"}; !slices.Equal(addrs, want) {
		t.Errorf("hosts %q, want %q", addrs, want)
	}
	if want := []string{"h1", "h2", "::1"}; !slices.Equal(names, want) {
		t.Errorf("TLS server names %q, want %q", names, want)
	}
	if got.mysql != got.hosts[0] {
		t.Error("mysql is not the first host")
	}

	for dsn, why := range map[string]string{
		"mysql://u:hunter2@h1,,h2/d":                            "empty host",
		"mysql://u:hunter2@h1,/d":                               "empty host",
		"mysql://u:hunter2@,h1/d":                               "empty host",
		"mysql://u:hunter2@h1:3306,h1/d":                        "twice",
		"mysql://u:hunter2@h1,h2:99999/d":                       "bad port",
		"mysql://u:hunter2@h1,h2:x/d":                           "not HOST[:PORT]",
		"mysql://u:hunter2@h1, h2/d":                            "not HOST[:PORT]",
		"mysql://u:hunter2@h1,h2":                               "without a database",
		"mysql://u:hunter2@" + strings.Repeat("h,", 20) + "h/d": "at most 16",
	} {
		_, err := parseDSN(dsn)
		if !errors.Is(err, ErrBadDSN) || !strings.Contains(err.Error(), why) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("parseDSN(%q): %v, want ErrBadDSN saying %q, without the password", dsn, err, why)
		}
		if r := Redact(dsn); strings.Contains(r, "hunter2") {
			t.Errorf("Redact(%q) = %q", dsn, r)
		}
	}
}

// The password of a DSN of several hosts can come from elsewhere (a
// file), and each host can be checked alone.
func TestDSNHostsPassword(t *testing.T) {
	const dsn = "mysql://u@h1,h2:3307/d?tls=true"
	first, more := CutHosts(dsn)
	if first != "mysql://u@h1/d?tls=true" || len(more) != 1 || more[0] != "h2:3307" {
		t.Fatalf("CutHosts = %q, %q", first, more)
	}
	u, err := url.Parse(first)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("u", "a@b,c/d")
	full := AddHosts(u.String(), more)
	got, err := parseDSN(full)
	if err != nil || got.hosts[1].Passwd != "a@b,c/d" || got.where != "mysql://u@h1:3306,h2:3307/d" {
		t.Fatalf("password put in the first host's DSN: %q parses as %+v, %v", full, got, err)
	}
	hosts, err := HostDSNs(full)
	if err != nil || len(hosts) != 2 {
		t.Fatalf("HostDSNs: %q, %v", hosts, err)
	}
	for i, want := range []string{"mysql://u@h1:3306/d", "mysql://u@h2:3307/d"} {
		h, err := parseDSN(hosts[i])
		if err != nil || h.where != want || h.mysql.Passwd != "a@b,c/d" || h.mysql.TLS == nil {
			t.Errorf("HostDSNs[%d] = %+v, %v; want %s with the password and TLS", i, h, err, want)
		}
	}
}
