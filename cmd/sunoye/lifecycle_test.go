package main

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
)

// A daemon that stops (SIGTERM) rejoins its rooms at the next start without
// the password, and gets what was sent while it was down: the broker kept
// its session.
func TestRestartRejoinsAndCatchesUp(t *testing.T) {
	b := realBackend(t)
	ds := b.daemons(t, "Asha", "Bilal")
	asha, bilal := ds[0], ds[1]
	inv := create(t, asha)
	must(t, bilal, "join", inv.Room, "--password", inv.Password)

	bilal.Stop(t)
	eventually(t, 10*time.Second, func() error {
		if r, _ := findRoom(roomsJSON(t, asha), inv.Room); r.Members != 1 {
			return fmt.Errorf("Asha sees %d members after Bilal stopped, want 1", r.Members)
		}
		return nil
	})
	must(t, asha, "send", inv.Room, "sent while you were away")

	state, err := os.ReadFile(filepath.Join(bilal.StateDir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(state), inv.Password) {
		t.Error("state.json contains the room password")
	}
	if !strings.Contains(string(state), `"joined_at"`) {
		t.Error("state.json does not record when Bilal joined (replays of older messages after the restart would show)")
	}

	bilal.Start(t)
	eventually(t, 20*time.Second, func() error {
		got := texts(history(t, bilal, inv.Room))
		if len(got) != 1 || got[0] != "Asha: sent while you were away" {
			return fmt.Errorf("Bilal's history after restart = %q", got)
		}
		return nil
	})
	eventually(t, 10*time.Second, func() error {
		if r, _ := findRoom(roomsJSON(t, asha), inv.Room); r.Members != 2 {
			return fmt.Errorf("Asha sees %d members after Bilal came back, want 2", r.Members)
		}
		return nil
	})
	// After a restart the password is not known, so no invite can be made.
	if r, _ := findRoom(roomsJSON(t, bilal), inv.Room); r.CanInvite {
		t.Error("can_invite after restart: the password must not have been kept")
	}
}

// A daemon killed with SIGKILL disappears from the others' member list at
// once (its Last Will clears its presence), and from the registry's count
// within the lease time; when the last member is killed the room turns
// inactive by itself.
func TestKilledMemberExpires(t *testing.T) {
	b := realBackend(t)
	const ttl = 3 * time.Second
	start := func(name string) *testenv.Daemon {
		return testenv.StartDaemon(t, testenv.DaemonConfig{Broker: b.first, DB: b.db, Name: name,
			Args: []string{"--headless", "--lease-ttl", ttl.String()}})
	}
	asha, bilal := start("Asha"), start("Bilal")
	inv := create(t, asha)
	must(t, bilal, "join", inv.Room, "--password", inv.Password)
	eventually(t, 10*time.Second, func() error {
		if r, _ := findRoom(roomsJSON(t, asha), inv.Room); r.Members != 2 || r.Leases != 2 {
			return fmt.Errorf("Asha sees %+v, want 2 members and 2 leases", r)
		}
		return nil
	})

	bilal.Kill(t)
	killed := time.Now()
	eventually(t, 5*time.Second, func() error {
		if r, _ := findRoom(roomsJSON(t, asha), inv.Room); r.Members != 1 {
			return fmt.Errorf("Asha still sees %d members after Bilal was killed", r.Members)
		}
		return nil
	})
	t.Logf("presence cleared %v after SIGKILL", time.Since(killed).Round(time.Millisecond))
	eventually(t, 3*ttl, func() error {
		if r, _ := findRoom(roomsJSON(t, asha), inv.Room); r.Leases != 1 {
			return fmt.Errorf("registry still counts %d leases", r.Leases)
		}
		return nil
	})

	// The last member is killed too: nobody leaves cleanly, yet the room
	// becomes inactive once the lease runs out, as the registry's own view
	// shows; then a join is refused.
	asha.Kill(t)
	eventually(t, 3*ttl, func() error {
		var active int
		row := testenv.SQL(t, b.db).QueryRow("SELECT active FROM sunoye_room_status WHERE room_no = ?", inv.Room)
		if err := row.Scan(&active); err != nil {
			return err
		}
		if active != 0 {
			return fmt.Errorf("room still active in sunoye_room_status")
		}
		return nil
	})
	carol := start("Carol")
	wantExit(t, carol, inv.Password+"\n", exitRoomInactive, []string{"inactive"}, "join", inv.Room)
}

// Garbage on a room's topics — plain text as the original app sent it,
// random bytes, a 1 MiB blob, an empty message, a forged presence — is
// counted as rejected and never shown; the room keeps working.
func TestGarbageOnTopic(t *testing.T) {
	b := realBackend(t)
	ds := b.daemons(t, "Asha", "Bilal")
	asha, bilal := ds[0], ds[1]
	inv := create(t, asha)
	must(t, bilal, "join", inv.Room, "--password", inv.Password)
	room, err := asha.Client().Room(t.Context(), inv.Room)
	if err != nil {
		t.Fatal(err)
	}
	topic := room.Topic
	presence := strings.TrimSuffix(topic, "/m") + "/p/aaaaaaaaaaaaaaaaaaaaaaaa"

	// Binary payloads go through files: arguments cannot hold NUL bytes.
	file := func(b []byte) string {
		f := filepath.Join(t.TempDir(), "payload")
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	random := make([]byte, 200)
	rand.Read(random)
	pub := testenv.NeedBinary(t, "mosquitto_pub", "mosquitto-clients")
	port := strings.Split(b.mosquitto.Addr(), ":")[1]
	publishes := [][]string{
		{"-t", topic, "-m", "Mallory->>click http://evil.example"},
		{"-t", topic, "-f", file(random)},
		{"-t", topic, "-f", file(make([]byte, 1<<20))},
		{"-t", topic, "-n"},
		{"-t", topic, "-f", file(append([]byte{1}, make([]byte, 200)...))},
		{"-t", topic, "-m", "\xff\xfe not UTF-8 \xc3\x28"},
		{"-t", presence, "-m", "Mallory is here", "-r"},
	}
	for _, p := range publishes {
		cmd := exec.Command(pub, append([]string{"-h", "127.0.0.1", "-p", port, "-q", "1"}, p...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_pub %v: %v %s", p[:2], err, out)
		}
	}
	must(t, bilal, "send", inv.Room, "still here")
	eventually(t, 10*time.Second, func() error {
		got := texts(history(t, asha, inv.Room))
		if len(got) != 1 || got[0] != "Bilal: still here" {
			return fmt.Errorf("Asha's history = %q, want only Bilal's message", got)
		}
		r, _ := findRoom(roomsJSON(t, asha), inv.Room)
		if r.Rejected < uint64(len(publishes)) {
			return fmt.Errorf("rejected = %d, want ≥ %d", r.Rejected, len(publishes))
		}
		if r.Members != 2 {
			return fmt.Errorf("members = %d after a forged presence, want 2", r.Members)
		}
		return nil
	})
	if asha.Exited() || bilal.Exited() {
		t.Fatal("a daemon died of garbage")
	}
}

// The local API and the state are the user's alone.
func TestStateIsPrivate(t *testing.T) {
	b := embeddedBackend(t)
	asha := b.daemons(t, "Asha")[0]
	inv := create(t, asha)
	for path, want := range map[string]os.FileMode{
		asha.StateDir: 0o700 | os.ModeDir,
		asha.Socket(): 0o600 | os.ModeSocket,
		filepath.Join(asha.StateDir, "state.json"):  0o600,
		filepath.Join(asha.StateDir, "daemon.lock"): 0o600,
		strings.TrimPrefix(b.db, "sqlite://"):       0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Errorf("stat %s: %v", path, err)
			continue
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
	}
	state, _ := os.ReadFile(filepath.Join(asha.StateDir, "state.json"))
	log := asha.Log()
	for what, text := range map[string]string{"state.json": string(state), "daemon log": log} {
		if strings.Contains(text, inv.Password) {
			t.Errorf("%s contains the room password", what)
		}
	}
}

// Settings: a flag beats the environment, which beats the config file.
func TestSettingsPrecedence(t *testing.T) {
	bin := testenv.Sunoye(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(conf, []byte(`state_dir = "`+filepath.Join(dir, "from-file")+`"`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(env []string, args ...string) string {
		cmd := exec.Command(bin, append(args, "rooms")...)
		cmd.Env = append(os.Environ(), append(env, "SUNOYE_CONFIG="+conf)...)
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	if out := run(nil); !strings.Contains(out, "from-file") {
		t.Errorf("config file ignored: %s", out)
	}
	env := []string{"SUNOYE_STATE_DIR=" + filepath.Join(dir, "from-env")}
	if out := run(env); !strings.Contains(out, "from-env") {
		t.Errorf("environment did not beat the config file: %s", out)
	}
	if out := run(env, "--state-dir", filepath.Join(dir, "from-flag")); !strings.Contains(out, "from-flag") {
		t.Errorf("flag did not beat the environment: %s", out)
	}
	if err := os.WriteFile(conf, []byte("brokr = \"typo\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := run(nil); !strings.Contains(out, `unknown setting "brokr"`) {
		t.Errorf("a typo in the config file was not reported: %s", out)
	}
}

// Every command answers --help.
func TestHelp(t *testing.T) {
	bin := testenv.Sunoye(t)
	for _, args := range [][]string{{}, {"up"}, {"create"}, {"join"}, {"leave"}, {"rooms"}, {"send"}, {"tail"}, {"broker"}, {"db"}, {"db", "migrate"}, {"version"}} {
		out, err := exec.Command(bin, append(args, "--help")...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Usage:") {
			t.Errorf("sunoye %v --help: %v\n%s", args, err, out)
		}
	}
	if out, err := exec.Command(bin, "version").Output(); err != nil || !strings.HasPrefix(string(out), "sunoye ") {
		t.Errorf("version: %v %q", err, out)
	}
	if err := exec.Command(bin, "frobnicate").Run(); err == nil {
		t.Error("an unknown command succeeded")
	}
}

// A room's only member restarting keeps the room: its lease is taken back
// at the next start (the number still names the same room), so the
// invitation it sent before the restart still works.
func TestOnlyMemberRestartKeepsRoom(t *testing.T) {
	b := realBackend(t)
	asha := b.daemons(t, "Asha")[0]
	inv := create(t, asha)
	asha.Stop(t)
	asha.Start(t)
	eventually(t, 10*time.Second, func() error {
		r, ok := findRoom(roomsJSON(t, asha), inv.Room)
		if !ok || !r.Connected || r.Leases != 1 {
			return fmt.Errorf("after the restart: %+v (joined %v), want connected with its lease", r, ok)
		}
		return nil
	})
	bilal := testenv.StartDaemon(t, testenv.DaemonConfig{Broker: b.others, DB: b.db, Name: "Bilal"})
	must(t, bilal, "join", inv.Room, "--password", inv.Password)
	must(t, bilal, "send", inv.Room, "the invitation still works")
	waitHistory(t, asha, inv.Room, "Bilal: the invitation still works")
}

// Saved rooms whose broker sessions cannot be opened at start (the broker
// refuses them, but not the daemon's start-up check) are kept, with their
// leases, and rejoined by themselves once the broker takes them; meanwhile
// one can be left.
func TestPendingRoomsRejoin(t *testing.T) {
	b := realBackend(t)
	asha := testenv.StartDaemon(t, testenv.DaemonConfig{Broker: b.first, DB: b.db, Name: "Asha",
		Args: []string{"--headless", "--lease-ttl", "3s"}})
	keep, drop := create(t, asha), create(t, asha)
	asha.Stop(t)

	restartBroker := func(prefix string) {
		b.mosquitto.Stop(t)
		b.mosquitto.AcceptOnlyClientIDs(prefix)
		b.mosquitto.Start(t)
	}
	restartBroker("sunoye-ping-") // the start-up check's client id
	asha.Start(t)
	if rs := roomsJSON(t, asha); len(rs) != 0 {
		t.Fatalf("rooms open while the broker refuses them: %+v", rs)
	}
	if !strings.Contains(asha.Log(), "rejoin room: kept, to try again") {
		t.Fatalf("the daemon did not say it keeps the rooms\n%s", tail(asha.Log(), 20))
	}
	must(t, asha, "leave", drop.Room)
	time.Sleep(2 * time.Second) // two heartbeats, which keep the other's lease
	restartBroker("")
	back := time.Now()
	eventually(t, 20*time.Second, func() error {
		rs := roomsJSON(t, asha)
		if len(rs) != 1 || rs[0].Room != keep.Room || !rs[0].Connected {
			return fmt.Errorf("rooms %+v, want only %s, connected", rs, keep.Room)
		}
		if rs[0].Leases != 1 {
			return fmt.Errorf("room %s has %d leases, want 1 (kept while it was offline)", keep.Room, rs[0].Leases)
		}
		return nil
	})
	t.Logf("rejoined %v after the broker took it (heartbeat every 1 s)", time.Since(back).Round(time.Millisecond))
	bilal := testenv.StartDaemon(t, testenv.DaemonConfig{Broker: b.others, DB: b.db, Name: "Bilal"})
	wantExit(t, bilal, drop.Password+"\n", exitRoomInactive, []string{"inactive"}, "join", drop.Room)
	must(t, bilal, "join", keep.Room, "--password", keep.Password)
	must(t, bilal, "send", keep.Room, "you are back")
	waitHistory(t, asha, keep.Room, "Bilal: you are back")
}

// While `sunoye tail` follows a room, the room counts as read, as with a
// focused chat window: the other member's messages pop no notification and
// leave nothing unread. Once the tail ends they do again.
func TestTailCountsAsRead(t *testing.T) {
	bus := testenv.SessionBus(t)
	notes := testenv.NotificationServer(t, bus)
	b := realBackend(t)
	asha := testenv.StartDaemon(t, testenv.DaemonConfig{Broker: b.first, DB: b.db, Name: "Asha",
		Args: []string{}, // not headless: notifications on
		Env:  []string{"DBUS_SESSION_BUS_ADDRESS=" + bus, "DISPLAY=", "WAYLAND_DISPLAY="},
	})
	bilal := testenv.StartDaemon(t, testenv.DaemonConfig{Broker: b.others, DB: b.db, Name: "Bilal"})
	inv := create(t, asha)
	must(t, bilal, "join", inv.Room, "--password", inv.Password)

	cmd := exec.Command(testenv.Sunoye(t), "--state-dir", asha.StateDir, "tail", inv.Room)
	cmd.Env = append(os.Environ(), "SUNOYE_CONFIG=/nonexistent")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	// The tail follows once it prints: Asha's own message (never
	// notified) shows when it does.
	must(t, asha, "send", inv.Room, "before tailing")
	for i := range 4 {
		text := "before tailing"
		if i > 0 {
			text = fmt.Sprintf("while tailing %d", i)
			must(t, bilal, "send", inv.Room, text)
		}
		select {
		case l := <-lines:
			if !strings.Contains(l, text) {
				t.Fatalf("tail printed %q, want %q", l, text)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("tail did not print %q", text)
		}
	}
	time.Sleep(500 * time.Millisecond) // a notification would have been sent by now
	if calls := notes.Calls(); len(calls) != 0 {
		t.Errorf("%d notifications while the room was tailed, want none: %+v", len(calls), calls)
	}
	if r, _ := findRoom(roomsJSON(t, asha), inv.Room); r.Unread != 0 {
		t.Errorf("%d unread while the room was tailed, want 0", r.Unread)
	}

	cmd.Process.Kill()
	cmd.Wait()
	eventually(t, 10*time.Second, func() error {
		must(t, bilal, "send", inv.Room, "after the tail")
		if len(notes.Calls()) == 0 {
			time.Sleep(200 * time.Millisecond)
			if len(notes.Calls()) == 0 {
				return errors.New("no notification after the tail ended")
			}
		}
		return nil
	})
	if r, _ := findRoom(roomsJSON(t, asha), inv.Room); r.Unread == 0 {
		t.Error("nothing unread after the tail ended")
	}
}
