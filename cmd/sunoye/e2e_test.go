package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/web"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// backend is a broker and a registry that daemons share.
type backend struct {
	name string
	// first and others are the --broker of the first daemon and of the
	// others (the first may start the embedded broker).
	first, others string
	db            string
	mosquitto     *testenv.Mosquitto // nil for the embedded broker
}

// realBackend is mosquitto and MariaDB, started for this test.
func realBackend(t *testing.T) backend {
	m := testenv.StartMosquitto(t)
	return backend{name: "mosquitto+mariadb", first: m.URL(), others: m.URL(), db: testenv.MariaDB(t), mosquitto: m}
}

// embeddedBackend is SunOye's own broker, started by the first daemon, and
// the embedded registry in a file the daemons share.
func embeddedBackend(t *testing.T) backend {
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	return backend{
		name: "embedded", first: "embedded://" + addr, others: "tcp://" + addr,
		db: "sqlite://" + filepath.Join(t.TempDir(), "registry.db"),
	}
}

func eachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	t.Run("mosquitto+mariadb", func(t *testing.T) { f(t, realBackend(t)) })
	t.Run("embedded", func(t *testing.T) { f(t, embeddedBackend(t)) })
}

func (b backend) daemons(t *testing.T, names ...string) []*testenv.Daemon {
	var ds []*testenv.Daemon
	for i, n := range names {
		broker := b.others
		if i == 0 {
			broker = b.first
		}
		ds = append(ds, testenv.StartDaemon(t, testenv.DaemonConfig{Broker: broker, DB: b.db, Name: n}))
	}
	return ds
}

// must runs a command that must succeed.
func must(t *testing.T, d *testenv.Daemon, args ...string) string {
	t.Helper()
	r := d.Run(t, args...)
	if r.Code != 0 {
		t.Fatalf("sunoye %s: exit %d\nstdout: %s\nstderr: %s\ndaemon log:\n%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr, tail(d.Log(), 30))
	}
	return r.Stdout
}

// wantExit runs a command that must fail with code, saying something that
// contains each of says.
func wantExit(t *testing.T, d *testenv.Daemon, stdin string, code int, says []string, args ...string) testenv.Result {
	t.Helper()
	r := d.RunStdin(t, stdin, args...)
	if r.Code != code {
		t.Errorf("sunoye %s: exit %d, want %d\nstderr: %s", strings.Join(args, " "), r.Code, code, r.Stderr)
	}
	for _, s := range says {
		if !strings.Contains(r.Stderr, s) {
			t.Errorf("sunoye %s: stderr %q does not say %q", strings.Join(args, " "), r.Stderr, s)
		}
	}
	return r
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func create(t *testing.T, d *testenv.Daemon, args ...string) web.InviteJSON {
	t.Helper()
	var inv web.InviteJSON
	out := must(t, d, append([]string{"create", "--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &inv); err != nil {
		t.Fatalf("create --json printed %q: %v", out, err)
	}
	return inv
}

func roomsJSON(t *testing.T, d *testenv.Daemon) []web.RoomJSON {
	t.Helper()
	var rs []web.RoomJSON
	out := must(t, d, "rooms", "--json")
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatalf("rooms --json printed %q: %v", out, err)
	}
	return rs
}

func findRoom(rs []web.RoomJSON, room string) (web.RoomJSON, bool) {
	for _, r := range rs {
		if r.Room == room {
			return r, true
		}
	}
	return web.RoomJSON{}, false
}

// history reads a room's messages as the daemon keeps them.
func history(t *testing.T, d *testenv.Daemon, room string) []web.MessageJSON {
	t.Helper()
	ms, err := d.Client().History(t.Context(), room)
	if err != nil {
		t.Fatalf("history of %s: %v", room, err)
	}
	return ms
}

// startTail runs `sunoye tail ROOM --json` and sends each line it prints.
func startTail(t *testing.T, d *testenv.Daemon, room string) <-chan web.MessageJSON {
	t.Helper()
	cmd := exec.Command(testenv.Sunoye(t), "--state-dir", d.StateDir, "tail", room, "--json")
	cmd.Env = append(os.Environ(), "SUNOYE_CONFIG=/nonexistent")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	ch := make(chan web.MessageJSON, 100)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var m web.MessageJSON
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Errorf("tail --json printed %q: %v", sc.Text(), err)
				return
			}
			ch <- m
		}
	}()
	return ch
}

// next waits for the next message from a tail.
func next(t *testing.T, ch <-chan web.MessageJSON) web.MessageJSON {
	t.Helper()
	select {
	case m, ok := <-ch:
		if !ok {
			t.Fatal("tail ended")
		}
		return m
	case <-time.After(20 * time.Second):
		t.Fatal("no message from tail within 20 s")
	}
	return web.MessageJSON{}
}

func texts(ms []web.MessageJSON) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.From+": "+m.Text)
	}
	return out
}

// waitHistory waits until d's history of room is want ("Name: text"
// each, in order of arrival).
func waitHistory(t *testing.T, d *testenv.Daemon, room string, want ...string) {
	t.Helper()
	eventually(t, 10*time.Second, func() error {
		if got := texts(history(t, d, room)); !slices.Equal(got, want) {
			return fmt.Errorf("history of room %s = %q, want %q", room, got, want)
		}
		return nil
	})
}

// eventually retries f until it returns nil or the deadline passes.
func eventually(t *testing.T, within time.Duration, f func() error) {
	t.Helper()
	testenv.Eventually(t, within, f)
}

func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
