package main

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

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
