package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
)

// The hostile-actor suite: what a client of the broker, an account of the
// registry and a member of the room can do to the others, tried against
// real daemons on a real mosquitto and MariaDB. docs/security.md is the
// threat model; each test here is a row of it. Confidentiality is covered
// by TestBrokerSeesOnlyCiphertext and TestHostilePayloads.

// topicSegments returns every level of every topic the capture has seen:
// all that a broker client subscribed to '#' learns of the members.
func (c *capture) topicSegments() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for topic := range c.seen {
		for _, seg := range strings.Split(topic, "/") {
			if seg != "" && !slices.Contains(out, seg) {
				out = append(out, seg)
			}
		}
	}
	return out
}

// payloads returns what the capture has seen on topic.
func (c *capture) payloads(topic string) [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.seen[topic])
}

// connectAs connects to the broker with client id id and a clean session,
// then disconnects: what taking over a session takes.
func (w *mqttWire) connectAs(id string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, w.pub, "-h", w.host, "-p", w.port, "-i", id, "-q", "1", "-t", "mallory/"+id, "-m", "hi").CombinedOutput()
	if err != nil {
		w.t.Fatalf("mosquitto_pub -i %s: %v %s", id, err, out)
	}
}

// A broker client that sees every topic and payload, and connects with
// every topic level it saw as its client id (with and without SunOye's
// prefix), kicks no member and erases no message: the ids of SunOye's
// sessions are keyed by a secret that never crosses the wire.
func TestHostileClientIDTakeover(t *testing.T) {
	b := realBackend(t)
	wire := newMQTTWire(t, b.mosquitto)
	seen := wire.capture("#")
	ds := b.daemons(t, "Asha", "Bilal", "Carol")
	asha, bilal, carol := ds[0], ds[1], ds[2]
	logsOnFailure(t, ds...)
	inv := create(t, asha)
	must(t, bilal, "join", inv.Room, "--password", inv.Password)
	must(t, carol, "join", inv.Room, "--password", inv.Password)
	waitPresent(t, 20*time.Second, inv.Room, 3, ds...)
	must(t, asha, "send", inv.Room, "before")
	for _, d := range []*testenv.Daemon{bilal, carol} {
		seen.first(t, presenceTopic(t, d, inv.Room))
	}

	var want []string
	for i, seg := range seen.topicSegments() {
		for _, id := range []string{seg, "sunoye-" + seg} {
			wire.connectAs(id)
		}
		text := fmt.Sprintf("while taking ids #%d", i)
		must(t, asha, "send", inv.Room, text)
		want = append(want, "Asha: "+text)
	}
	want = append([]string{"Asha: before"}, want...)
	for _, d := range []*testenv.Daemon{bilal, carol} {
		waitHistory(t, d, inv.Room, want...)
		if r, _ := findRoom(roomsJSON(t, d), inv.Room); !r.Connected || r.Members != 3 {
			t.Errorf("%s after the takeover attempts: %+v", d.StateDir, r)
		}
		if strings.Contains(d.Log(), "connection lost") {
			t.Errorf("%s lost its broker connection:\n%s", d.StateDir, tail(d.Log(), 20))
		}
	}
}

// A payload recorded on the broker and published again — live or
// retained — is never shown: not to a member who joined after it was
// sent, not to one who saw it, not after a clean restart, not after a
// crash.
func TestHostileReplays(t *testing.T) {
	b := realBackend(t)
	wire := newMQTTWire(t, b.mosquitto)
	seen := wire.capture("sunoye/#")
	ds := b.daemons(t, "Asha", "Bilal", "Carol")
	asha, bilal, carol := ds[0], ds[1], ds[2]
	logsOnFailure(t, ds...)
	inv := create(t, asha)
	must(t, bilal, "join", inv.Room, "--password", inv.Password)
	waitPresent(t, 20*time.Second, inv.Room, 2, asha, bilal)
	topic := roomTopic(t, asha, inv.Room)
	must(t, asha, "send", inv.Room, "recorded one")
	must(t, asha, "send", inv.Room, "recorded two")
	waitHistory(t, bilal, inv.Room, "Asha: recorded one", "Asha: recorded two")
	eventually(t, 10*time.Second, func() error {
		if n := len(seen.payloads(topic)); n < 2 {
			return fmt.Errorf("captured %d payloads", n)
		}
		return nil
	})
	recorded := seen.payloads(topic)
	replay := func(retained bool) {
		for _, p := range recorded {
			wire.publish(topic, p, retained)
		}
	}

	// Carol joins after the messages were sent; the recording is
	// published again, live and retained.
	must(t, carol, "join", inv.Room, "--password", inv.Password)
	waitPresent(t, 20*time.Second, inv.Room, 3, ds...)
	replay(false)
	replay(true)
	must(t, asha, "send", inv.Room, "marker 1")
	waitHistory(t, carol, inv.Room, "Asha: marker 1")
	waitHistory(t, bilal, inv.Room, "Asha: recorded one", "Asha: recorded two", "Asha: marker 1")
	// The retained copy goes to whoever subscribes next: Dave's first
	// join.
	dave := testenv.StartDaemon(t, testenv.DaemonConfig{Broker: b.others, DB: b.db, Name: "Dave"})
	logsOnFailure(t, dave)
	must(t, dave, "join", inv.Room, "--password", inv.Password)
	wire.publish(topic, nil, true) // clear it for the rest of the test

	// A clean restart, then a crash: the recording again each time.
	for _, restart := range []struct {
		name string
		stop func(testing.TB)
	}{{"clean", bilal.Stop}, {"crash", bilal.Kill}} {
		restart.stop(t)
		bilal.Start(t)
		waitPresent(t, 20*time.Second, inv.Room, 4, bilal)
		replay(false)
		marker := "after a " + restart.name + " restart"
		must(t, asha, "send", inv.Room, marker)
		waitHistory(t, bilal, inv.Room, "Asha: "+marker)
	}
	must(t, asha, "send", inv.Room, "marker 2")
	waitHistory(t, dave, inv.Room, "Asha: after a clean restart", "Asha: after a crash restart", "Asha: marker 2")
	for _, d := range []*testenv.Daemon{carol, dave} {
		if r, _ := findRoom(roomsJSON(t, d), inv.Room); r.Replayed+r.Rejected == 0 {
			t.Errorf("%s counted no replay: %+v", d.StateDir, r)
		}
	}
}

// Members with the same display name are told apart wherever a name
// shows: `sunoye tail` prints each with the start of its member id.
func TestHostileBorrowedName(t *testing.T) {
	b := realBackend(t)
	ds := b.daemons(t, "Asha", "Asha", "Bilal")
	asha, impostor, bilal := ds[0], ds[1], ds[2]
	logsOnFailure(t, ds...)
	inv := create(t, asha)
	must(t, impostor, "join", inv.Room, "--password", inv.Password)
	must(t, bilal, "join", inv.Room, "--password", inv.Password)
	must(t, asha, "send", inv.Room, "I am Asha")
	must(t, impostor, "send", inv.Room, "No, I am Asha")
	waitHistory(t, bilal, inv.Room, "Asha: I am Asha", "Asha: No, I am Asha")

	lines := tailLines(t, bilal, inv.Room, 2)
	var labels []string
	for _, l := range lines {
		_, rest, _ := strings.Cut(l, " ")
		label, _, _ := strings.Cut(rest, ": ")
		labels = append(labels, label)
	}
	if len(labels) != 2 || labels[0] == labels[1] || !strings.HasPrefix(labels[0], "Asha (") || !strings.HasPrefix(labels[1], "Asha (") {
		t.Errorf("sunoye tail printed %q: the two Ashas are not told apart", lines)
	}
}

// tailLines runs `sunoye tail ROOM` (text) and returns its first n lines.
func tailLines(t *testing.T, d *testenv.Daemon, room string, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testenv.Sunoye(t), "--state-dir", d.StateDir, "tail", room)
	cmd.Env = append(os.Environ(), "SUNOYE_CONFIG="+filepath.Join(d.StateDir, "no-config.toml"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var lines []string
	sc := bufio.NewScanner(out)
	for len(lines) < n && sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) < n {
		t.Fatalf("sunoye tail printed %q, want %d lines", lines, n)
	}
	return lines
}

// A registry account that deletes every row in the middle of a
// conversation ends no conversation: the daemons keep their keys, register
// the room again as they know it, and a newcomer can join it by number.
func TestHostileRegistryWipe(t *testing.T) {
	b := realBackend(t)
	args := []string{"--headless", "--lease-ttl", "3s"}
	ds := startDaemonsWith(t, b.others, b.db, args, "Asha", "Bilal")
	asha, bilal := ds[0], ds[1]
	logsOnFailure(t, ds...)
	inv := gather(t, ds...)
	must(t, asha, "send", inv.Room, "before the wipe")

	for _, table := range []string{"sunoye_leases", "sunoye_rooms"} {
		testenv.Exec(t, b.db, "DELETE FROM "+table)
	}
	// Past a lease time: every heartbeat since has found the room gone.
	// The daemons' counts said "ok, 2 leases" before the wipe too: the
	// room's row back in the registry is what shows a heartbeat has run.
	reg := testenv.SQL(t, b.db)
	eventually(t, 30*time.Second, func() error {
		var n int
		if err := reg.QueryRow("SELECT COUNT(*) FROM sunoye_rooms").Scan(&n); err != nil || n != 1 {
			return fmt.Errorf("the registry holds %d rooms (%v), want the room back", n, err)
		}
		for _, d := range ds {
			r, ok := findRoom(roomsJSON(t, d), inv.Room)
			if !ok {
				return fmt.Errorf("%s dropped the room", d.StateDir)
			}
			if r.Registry != "ok" || r.Leases != 2 {
				return fmt.Errorf("%s: registry %q, %d leases; want ok and 2", d.StateDir, r.Registry, r.Leases)
			}
		}
		return nil
	})
	for _, d := range ds {
		st, err := os.ReadFile(filepath.Join(d.StateDir, "state.json"))
		if err != nil || !strings.Contains(string(st), `"room": "`+inv.Room+`"`) {
			t.Errorf("%s/state.json lost the room: %v\n%s", d.StateDir, err, st)
		}
	}
	must(t, asha, "send", inv.Room, "after the wipe")
	waitHistory(t, bilal, inv.Room, "Asha: before the wipe", "Asha: after the wipe")
	carol := testenv.StartDaemon(t, testenv.DaemonConfig{Broker: b.others, DB: b.db, Name: "Carol", Args: args})
	must(t, carol, "join", inv.Room, "--password", inv.Password)
}
