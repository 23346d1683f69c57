package main

import (
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sunoye/sunoye/db"
	"github.com/sunoye/sunoye/internal/testenv"
)

// Three daemons whose --db lists the three nodes of a Galera cluster, each
// in another order (so each starts on its own node), share a room; the
// node of the first is SIGKILLed in the middle of the conversation. The
// first moves to another node: its next registry call (creating a room)
// succeeds, the others join that room, the conversation goes on, and the
// heartbeats after the kill keep every lease: each daemon counts three
// leases in both rooms, says the registry is ok, and never logged it
// unreachable. No room is closed.
func TestRegistryFailover(t *testing.T) {
	g := testenv.SharedGalera(t)
	dsns := g.NewDatabase(t, "daemons")
	// The schema through one node, before the daemons start
	// (docs/scaling.md).
	if out, err := exec.Command(testenv.Sunoye(t), "db", "migrate", "--db", dsns[0]).CombinedOutput(); err != nil {
		t.Fatalf("db migrate: %v\n%s", err, out)
	}
	m := testenv.StartMosquitto(t)
	// Heartbeats every 5 s: two of them fall in the 10 s after the kill.
	const (
		leaseTTL  = 15 * time.Second
		heartbeat = leaseTTL / 3
	)
	names := []string{"Asha", "Bilal", "Chen"}
	orders := [][]int{{0, 1, 2}, {1, 2, 0}, {2, 0, 1}}
	ds := make([]*testenv.Daemon, len(names))
	for i, name := range names {
		ds[i] = testenv.StartDaemon(t, testenv.DaemonConfig{
			Broker: m.URL(), DB: testenv.HostList(t, dsns, orders[i]...), Name: name,
			Args: []string{"--headless", "--lease-ttl", leaseTTL.String()},
		})
	}
	asha, bilal, chen := ds[0], ds[1], ds[2]

	inv := create(t, asha)
	must(t, bilal, "join", inv.Room, "--password", inv.Password)
	must(t, chen, "join", inv.Room, "--password", inv.Password)
	must(t, bilal, "send", inv.Room, "before")
	for _, d := range ds {
		waitHistory(t, d, inv.Room, "Bilal: before")
	}
	wantLeases(t, ds, 2*heartbeat, inv.Room)
	for i := range 3 {
		pid := g.Node(i).PID()
		if kib, err := statusField(fmt.Sprintf("/proc/%d/status", pid), "VmRSS"); err == nil {
			t.Logf("Galera node %d: RSS %.0f MiB", i, float64(kib)/1024)
		}
	}

	g.Node(0).Kill(t)
	killed := time.Now()
	t.Cleanup(func() { g.Restart(t, 0) })
	inv2 := create(t, asha)
	t.Logf("Asha's node killed: her next registry call (create) succeeded after %v", time.Since(killed).Round(time.Millisecond))
	must(t, bilal, "join", inv2.Room, "--password", inv2.Password)
	must(t, chen, "join", inv2.Room, "--password", inv2.Password)
	t.Logf("Bilal and Chen joined the new room %v after the kill", time.Since(killed).Round(time.Millisecond))
	must(t, asha, "send", inv.Room, "after")
	must(t, chen, "send", inv2.Room, "new room")
	for _, d := range ds {
		waitHistory(t, d, inv.Room, "Bilal: before", "Asha: after")
		waitHistory(t, d, inv2.Room, "Chen: new room")
	}

	// Two heartbeats after the kill, every daemon has renewed both rooms'
	// leases: the new room's count (1 for its creator at creation) says
	// so.
	eventually(t, 10*time.Second, func() error {
		if since := time.Since(killed); since < 2*heartbeat+time.Second {
			return fmt.Errorf("only %v since the kill", since)
		}
		return nil
	})
	wantLeases(t, ds, 2*heartbeat, inv.Room, inv2.Room)
	for i, d := range ds {
		if log := d.Log(); strings.Contains(log, "registry unreachable") {
			t.Errorf("%s (node %d first) logged the registry unreachable: a heartbeat failed\n%s", names[i], orders[i][0], tail(log, 30))
		}
	}
}

// wantLeases waits until every daemon lists each room with three members
// (presence), three leases (its last heartbeat's count) and the registry
// ok.
func wantLeases(t *testing.T, ds []*testenv.Daemon, within time.Duration, rooms ...string) {
	t.Helper()
	for _, d := range ds {
		eventually(t, within+5*time.Second, func() error {
			rs := roomsJSON(t, d)
			for _, room := range rooms {
				r, ok := findRoom(rs, room)
				switch {
				case !ok:
					return fmt.Errorf("room %s is not listed: closed", room)
				case r.Members != 3 || r.Leases != 3 || r.Registry != "ok":
					return fmt.Errorf("room %s: %d members, %d leases, registry %q; want 3, 3, ok", room, r.Members, r.Leases, r.Registry)
				}
			}
			return nil
		})
	}
}

// `sunoye doctor` checks every host of a --db that lists several: a host
// down is a warning (the daemon uses the others), all down a failure.
func TestDoctorHostList(t *testing.T) {
	m := testenv.StartMosquitto(t)
	dsn := testenv.MariaDB(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	up := u.Host
	password, _ := u.User.Password()
	down, down2 := closedPort(t), closedPort(t)
	doctor := func(hosts ...string) (string, int) {
		list := strings.Replace(dsn, "@"+up+"/", "@"+strings.Join(hosts, ",")+"/", 1)
		cmd := exec.Command(testenv.Sunoye(t), "doctor", "--state-dir", t.TempDir(), "--broker", m.URL(), "--db", list)
		cmd.Env = append(cmd.Environ(), "SUNOYE_CONFIG=/nonexistent", "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent", "DISPLAY=")
		out, err := cmd.Output()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	// registry returns the registry's line.
	registry := func(out string) string {
		_, after, _ := strings.Cut(out, " registry ")
		line, _, _ := strings.Cut(after, "\n")
		return line
	}
	for _, tc := range []struct {
		hosts []string
		code  int
		mark  string
		says  []string
	}{
		{[]string{up, down}, 0, "warn", []string{"1 of 2 hosts reachable", up + "/", "schema", down + "/", "unreachable", "fewer to move to"}},
		{[]string{down, down2}, 1, "FAIL", []string{"0 of 2 hosts reachable", down, down2}},
	} {
		out, code := doctor(tc.hosts...)
		reg := registry(out)
		t.Logf("doctor, hosts %v: %s", tc.hosts, reg)
		if code != tc.code || !strings.Contains(out, tc.mark+" registry") {
			t.Errorf("hosts %v: exit %d, want %d with the registry marked %s\n%s", tc.hosts, code, tc.code, tc.mark, out)
		}
		for _, s := range tc.says {
			if !strings.Contains(reg, s) {
				t.Errorf("hosts %v: the registry's line does not say %q: %s", tc.hosts, s, reg)
			}
		}
		if strings.Contains(out, password) {
			t.Errorf("doctor shows the password:\n%s", out)
		}
	}
}

// The registry password from a file or $SUNOYE_DB_PASSWORD goes into a
// --db that lists several hosts, as into one of one host; the errors are
// those of one host.
func TestDBPasswordHostList(t *testing.T) {
	src := secretSource{from: "$SUNOYE_DB_PASSWORD", value: "p@ss,w/rd"}
	st := settings{DB: "mysql://alice@db1,db2:3307,[::1]/sunoye?tls=true", dbPassword: src}
	got, err := st.dbDSN()
	if err != nil {
		t.Fatal(err)
	}
	hosts, err := db.HostDSNs(got)
	if err != nil || len(hosts) != 3 || db.Redact(got) != "mysql://alice@db1:3306,db2:3307,[::1]:3306/sunoye" {
		t.Fatalf("dbDSN = %q: hosts %q, %v", got, hosts, err)
	}
	for _, h := range hosts {
		u, err := url.Parse(h)
		if pw, _ := u.User.Password(); err != nil || pw != "p@ss,w/rd" || u.RawQuery != "tls=true" {
			t.Errorf("host DSN %q: password %q, %v", h, pw, err)
		}
	}
	for _, bad := range []string{"mysql://db1,db2/sunoye", "mysql://alice:old@db1,db2/sunoye"} {
		st.DB = bad
		if _, err := st.dbDSN(); err == nil || strings.Contains(err.Error(), "p@ss") {
			t.Errorf("dbDSN of %q: %v, want an error without the password", bad, err)
		}
	}
}
