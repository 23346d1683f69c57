package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/web"
)

// Bad input from outside, on the wire: what anyone with access to the
// broker can publish on a room's topics without knowing the room key.
// TestGarbageOnTopic (lifecycle_test.go) covers plain text, random bytes,
// a 1 MiB blob of zeros, an empty message and a forged presence; the
// tests here start from real payloads captured off the broker and break
// them the ways an attacker would.

// mqttWire is a plain MQTT client of the test's mosquitto, the tools that
// anyone on the broker has: mosquitto_pub and mosquitto_sub.
type mqttWire struct {
	t          *testing.T
	pub, sub   string
	host, port string
}

func newMQTTWire(t *testing.T, m *testenv.Mosquitto) *mqttWire {
	t.Helper()
	return newMQTTWireAt(t, m.Addr())
}

// newMQTTWireAt is newMQTTWire for the broker (or node) at addr,
// "HOST:PORT".
func newMQTTWireAt(t *testing.T, addr string) *mqttWire {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	return &mqttWire{
		t:    t,
		pub:  testenv.NeedBinary(t, "mosquitto_pub", "mosquitto-clients"),
		sub:  testenv.NeedBinary(t, "mosquitto_sub", "mosquitto-clients"),
		host: host, port: port,
	}
}

// publish publishes payload on topic with QoS 1 and waits for the broker
// to take it. Payloads go through a file: arguments cannot hold NUL.
func (w *mqttWire) publish(topic string, payload []byte, retain bool) {
	w.t.Helper()
	args := []string{"-h", w.host, "-p", w.port, "-q", "1", "-t", topic}
	if retain {
		args = append(args, "-r")
	}
	if len(payload) == 0 {
		args = append(args, "-n")
	} else {
		f := filepath.Join(w.t.TempDir(), "payload")
		if err := os.WriteFile(f, payload, 0o600); err != nil {
			w.t.Fatal(err)
		}
		args = append(args, "-f", f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, w.pub, args...).CombinedOutput(); err != nil {
		w.t.Fatalf("mosquitto_pub -t %s: %v %s", topic, err, out)
	}
}

// capture is a mosquitto_sub that records every payload it sees.
type capture struct {
	mu   sync.Mutex
	seen map[string][][]byte // topic → payloads, in order
}

// capture subscribes to filter until the test ends, as an eavesdropper
// on the broker would.
func (w *mqttWire) capture(filter string) *capture {
	w.t.Helper()
	cmd := exec.Command(w.sub, "-h", w.host, "-p", w.port, "-q", "1", "-v", "-t", filter, "-F", "%t %x")
	out, err := cmd.StdoutPipe()
	if err != nil {
		w.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	c := &capture{seen: make(map[string][][]byte)}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			topic, h, _ := strings.Cut(sc.Text(), " ")
			b, err := hex.DecodeString(strings.TrimSpace(h))
			if err != nil {
				continue
			}
			c.mu.Lock()
			c.seen[topic] = append(c.seen[topic], b)
			c.mu.Unlock()
		}
	}()
	return c
}

// first waits for the first non-empty payload seen on topic.
func (c *capture) first(t *testing.T, topic string) []byte {
	t.Helper()
	var p []byte
	eventually(t, 20*time.Second, func() error {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, b := range c.seen[topic] {
			if len(b) > 0 {
				p = b
				return nil
			}
		}
		return fmt.Errorf("mosquitto_sub saw no payload on %s", topic)
	})
	return p
}

// footprint is what a daemon holds, as seen from outside: resident
// memory, open file descriptors (broker and database connections, files;
// not the local API's unix-socket connections, which its clients open and
// close, and which the tests' clients keep open) and OS threads.
// Goroutines are not visible from outside; leaked ones show as memory, a
// leaked connection or stream as a descriptor.
type footprint struct {
	rssKiB, fds, threads int64
}

func (f footprint) String() string {
	return fmt.Sprintf("RSS %.1f MiB, %d fds, %d threads", float64(f.rssKiB)/1024, f.fds, f.threads)
}

func footprintOf(t *testing.T, pid int) footprint {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("footprint of pid %d: %v", pid, err)
	}
	var f footprint
	for _, line := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(line, ":")
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			f.rssKiB = n
		case "Threads":
			f.threads = n
		}
	}
	// Unix sockets, by inode (the eighth column of /proc/PID/net/unix).
	unix := make(map[string]bool)
	table, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/unix", pid))
	if err != nil {
		t.Fatalf("footprint of pid %d: %v", pid, err)
	}
	for _, line := range strings.Split(string(table), "\n")[1:] {
		if cols := strings.Fields(line); len(cols) >= 7 {
			unix["socket:["+cols[6]+"]"] = true
		}
	}
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("footprint of pid %d: %v", pid, err)
	}
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join(dir, fd.Name())); err == nil && !unix[target] {
			f.fds++
		}
	}
	return f
}

// checkFootprint fails the test if a daemon grew past what was
// before by more than the slack given: memory in MiB, descriptors and
// threads in units. Memory is sampled a few times, since the Go runtime
// returns freed memory to the system lazily.
func checkFootprint(t *testing.T, who string, pid int, before footprint, slackMiB, slackFDs int64) footprint {
	t.Helper()
	var now footprint
	eventually(t, 30*time.Second, func() error {
		now = footprintOf(t, pid)
		switch {
		case now.rssKiB > before.rssKiB+slackMiB<<10:
			return fmt.Errorf("%s grew from %s to %s: more than %d MiB", who, before, now, slackMiB)
		case now.fds > before.fds+slackFDs:
			return fmt.Errorf("%s grew from %s to %s: more than %d descriptors: %s", who, before, now, slackFDs, openFiles(pid))
		}
		return nil
	})
	return now
}

// openFiles describes what pid has open, for failure messages: sockets
// with their peers as ss(8) shows them.
func openFiles(pid int) string {
	out, _ := exec.Command("ss", "-Htanpx").Output()
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, fmt.Sprintf("pid=%d,", pid)) {
			lines = append(lines, strings.Join(strings.Fields(l), " "))
		}
	}
	return "\n\t" + strings.Join(lines, "\n\t")
}

// flip returns p with one bit of byte i flipped.
func flip(p []byte, i int) []byte {
	q := bytes.Clone(p)
	q[i] ^= 0x10
	return q
}

// Payloads captured off the broker and broken the ways an attacker would
// — truncated, padded to 1 MiB, another version, another room's key,
// tampered with, moved between topics, replayed — are each counted as
// rejected (`rejected` in rooms --json) or, for replays, dropped as
// duplicates; none is shown, none changes the member list, the daemons
// stay up and chatting, and their memory and descriptors do not grow.
func TestHostilePayloads(t *testing.T) {
	b := realBackend(t)
	wire := newMQTTWire(t, b.mosquitto)
	eavesdrop := wire.capture("sunoye/v1/#")
	ds := b.daemons(t, "Asha", "Bilal")
	asha, bilal := ds[0], ds[1]
	inv := create(t, asha)
	must(t, bilal, "join", inv.Room, "--password", inv.Password)
	elsewhere := create(t, bilal) // another room, another key
	topic := roomTopic(t, asha, inv.Room)
	base := strings.TrimSuffix(topic, "/m")
	// Members' presence topics are pseudonyms made with the room key: the
	// daemons say theirs.
	ashaAt, bilalAt := presenceTopic(t, asha, inv.Room), presenceTopic(t, bilal, inv.Room)
	otherTopic := roomTopic(t, bilal, elsewhere.Room)

	must(t, bilal, "send", inv.Room, "the real message")
	must(t, bilal, "send", elsewhere.Room, "a message in another room")
	msg := eavesdrop.first(t, topic)
	otherMsg := eavesdrop.first(t, otherTopic)
	presence := eavesdrop.first(t, bilalAt)
	otherPresence := eavesdrop.first(t, presenceTopic(t, bilal, elsewhere.Room))
	eventually(t, 20*time.Second, func() error {
		if got := texts(history(t, asha, inv.Room)); len(got) != 1 {
			return fmt.Errorf("Asha's history = %q, want Bilal's message", got)
		}
		return nil
	})
	waitPresent(t, 20*time.Second, inv.Room, 2, asha, bilal)
	rejectedBefore := map[*testenv.Daemon]uint64{}
	for _, d := range ds {
		r, _ := findRoom(roomsJSON(t, d), inv.Room)
		rejectedBefore[d] = r.Rejected
	}
	fpBefore := map[*testenv.Daemon]footprint{asha: footprintOf(t, asha.PID()), bilal: footprintOf(t, bilal.PID())}

	oneMiB := make([]byte, 1<<20)
	copy(oneMiB, msg)
	mallory := "aaaaaaaaaaaaaaaaaaaaaaaa"
	hostile := []struct {
		name    string
		topic   string
		payload []byte
	}{
		{"truncated to half", topic, msg[:len(msg)/2]},
		{"truncated to version and nonce", topic, msg[:25]},
		{"one byte short", topic, msg[:len(msg)-1]},
		{"1 MiB with a valid start", topic, oneMiB},
		{"version 2", topic, append([]byte{2}, msg[1:]...)},
		{"version 0", topic, append([]byte{0}, msg[1:]...)},
		{"sealed with another room's key", topic, otherMsg},
		{"a bit flipped in the sender's key", topic, flip(msg, 25+3)},
		{"a bit flipped in the signature", topic, flip(msg, 25+32+3)},
		{"a bit flipped in the text", topic, flip(msg, len(msg)-17-3)},
		{"a bit flipped in the nonce", topic, flip(msg, 5)},
		{"a presence moved to the message topic", topic, presence},
		{"non-UTF-8 bytes", topic, []byte("Mallory->>\xff\xfe\xc3\x28 caf\xe9")},
		{"on a topic below the room", base + "/m/x", msg},
		{"presence truncated", bilalAt, presence[:len(presence)/2]},
		{"presence of another room", bilalAt, otherPresence},
		{"presence, version 2", bilalAt, append([]byte{2}, presence[1:]...)},
		{"a message moved to a presence topic", bilalAt, msg},
		{"presence, non-UTF-8 bytes", bilalAt, []byte("Bilal \xff\xfe is \xc0\xaf here")},
		{"presence, 1 MiB", bilalAt, oneMiB},
		{"Bilal's presence on Asha's topic", ashaAt, presence},
		{"Bilal's presence on a made-up member's topic", base + "/p/" + mallory, presence},
		{"presence on a topic below a member", bilalAt + "/x", presence},
		{"a message moved to the typing topic", base + "/t", msg},
		{"a presence moved to the typing topic", base + "/t", presence},
		{"typing, truncated", base + "/t", msg[:40]},
		{"typing, 1 MiB", base + "/t", oneMiB},
	}
	for _, h := range hostile {
		wire.publish(h.topic, h.payload, false)
	}
	// Replays: the same valid payloads again. Not rejected (they open),
	// but the message is shown once and the presence changes nothing.
	for range 3 {
		wire.publish(topic, msg, false)
		wire.publish(bilalAt, presence, false)
	}
	must(t, bilal, "send", inv.Room, "after the garbage")

	eventually(t, 30*time.Second, func() error {
		for _, d := range ds {
			got := texts(history(t, d, inv.Room))
			if want := []string{"Bilal: the real message", "Bilal: after the garbage"}; fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Errorf("history = %q, want %q", got, want)
			}
			r, _ := findRoom(roomsJSON(t, d), inv.Room)
			if n := r.Rejected - rejectedBefore[d]; n < uint64(len(hostile)) {
				return fmt.Errorf("rejected went up by %d, want %d", n, len(hostile))
			}
			if r.Members != 2 || !r.Connected {
				return fmt.Errorf("room after the garbage: %+v, want 2 members, connected", r)
			}
		}
		return nil
	})
	for _, d := range ds {
		r, _ := findRoom(roomsJSON(t, d), inv.Room)
		// Exactly: the replays were not counted, and nothing twice.
		if n := r.Rejected - rejectedBefore[d]; n != uint64(len(hostile)) {
			t.Errorf("rejected went up by %d for %d hostile payloads and 6 replays", n, len(hostile))
		}
		if d.Exited() {
			t.Fatalf("a daemon died:\n%s", tail(d.Log(), 30))
		}
		fp := checkFootprint(t, "daemon", d.PID(), fpBefore[d], 32, 2)
		t.Logf("before %s; after %s", fpBefore[d], fp)
	}
	// And the room still works both ways.
	must(t, asha, "send", inv.Room, "still here")
	eventually(t, 20*time.Second, func() error {
		if got := texts(history(t, bilal, inv.Room)); len(got) != 3 {
			return fmt.Errorf("Bilal's history = %q", got)
		}
		return nil
	})
}

// Presence is announced as a retained message that anyone on the broker
// can overwrite. A forged Last Will (an empty payload on a member's
// presence topic) and retained garbage there are healed by the member
// itself: it sees its presence cleared or spoiled and announces itself
// again, so that whoever joins afterwards still sees it.
func TestForgedPresenceHeals(t *testing.T) {
	b := realBackend(t)
	wire := newMQTTWire(t, b.mosquitto)
	ds := b.daemons(t, "Asha", "Bilal", "Carol")
	asha, bilal, carol := ds[0], ds[1], ds[2]
	logsOnFailure(t, ds...)
	inv := create(t, asha)
	must(t, bilal, "join", inv.Room, "--password", inv.Password)
	waitPresent(t, 20*time.Second, inv.Room, 2, asha, bilal)
	presence := presenceTopic(t, bilal, inv.Room)

	for _, forged := range []struct {
		name    string
		payload []byte
	}{
		{"a forged Will", nil},
		{"retained garbage", []byte("Mallory was here")},
	} {
		wire.publish(presence, forged.payload, true)
		// Carol joins after it: she learns who is present from the
		// retained presences the broker holds.
		must(t, carol, "join", inv.Room, "--password", inv.Password)
		eventually(t, 20*time.Second, func() error {
			for _, d := range ds {
				if r, _ := findRoom(roomsJSON(t, d), inv.Room); r.Members != 3 {
					return fmt.Errorf("after %s, %s sees %d members, want 3", forged.name, d.StateDir, r.Members)
				}
			}
			return nil
		})
		must(t, carol, "leave", inv.Room)
		waitPresent(t, 20*time.Second, inv.Room, 2, asha, bilal)
	}
}

// waitPresent waits until each daemon in ds sees n members present in
// room.
func waitPresent(t *testing.T, within time.Duration, room string, n int, ds ...*testenv.Daemon) {
	t.Helper()
	eventually(t, within, func() error {
		for _, d := range ds {
			r, err := d.Client().Room(t.Context(), room)
			if err != nil {
				return err
			}
			if r.Members != n {
				return fmt.Errorf("%s sees %d members in %s, want %d: %+v", d.StateDir, r.Members, room, n, r.MemberList)
			}
		}
		return nil
	})
}

// logsOnFailure shows the end of each daemon's log if the test fails.
func logsOnFailure(t *testing.T, ds ...*testenv.Daemon) {
	t.Cleanup(func() {
		if t.Failed() {
			for _, d := range ds {
				t.Logf("log of the daemon in %s:\n%s", d.StateDir, tail(d.Log(), 40))
			}
		}
	})
}

// presenceTopic is a daemon's presence topic in a joined room.
func presenceTopic(t *testing.T, d *testenv.Daemon, room string) string {
	t.Helper()
	r, err := d.Client().Room(t.Context(), room)
	if err != nil {
		t.Fatal(err)
	}
	return r.PresenceTopic
}

// roomTopic is a joined room's message topic on the broker.
func roomTopic(t *testing.T, d *testenv.Daemon, room string) string {
	t.Helper()
	r, err := d.Client().Room(t.Context(), room)
	if err != nil {
		t.Fatal(err)
	}
	return r.Topic
}

// Bad input through the CLI and the local API.

// SQL metacharacters, emoji, right-to-left text and zero-width characters
// in display names, passwords and messages travel exactly, on MariaDB,
// and the registry is unharmed; room numbers made of them are refused by
// every command with exit 2 before anything is looked up.
func TestHostileNamesAndNumbers(t *testing.T) {
	b := realBackend(t)
	names := []string{
		"Robert'); DROP TABLE sunoye_rooms;--",
		"👩‍👩‍👧 \u202eahsA", // an emoji sequence, a right-to-left override
		"بلال\u200b \u200dzero-width",
	}
	ds := b.daemons(t, names...)
	password := `x' OR '1'='1'; -- "quoted" \ 🙂`
	inv := create(t, ds[0], "--password", password)
	for _, d := range ds[1:] {
		if r := d.RunStdin(t, password+"\n", "join", inv.Room); r.Code != 0 {
			t.Fatalf("join with the password on standard input: exit %d: %s", r.Code, r.Stderr)
		}
	}
	var want []string
	for i, d := range ds {
		text := fmt.Sprintf("%d: '; DELETE FROM sunoye_members; -- \u202eevil\u202c %s \t <script>alert(1)</script>", i, names[i])
		must(t, d, "send", inv.Room, text)
		want = append(want, names[i]+": "+text)
	}
	eventually(t, 20*time.Second, func() error {
		for _, d := range ds {
			if got := texts(history(t, d, inv.Room)); fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Errorf("history = %q, want %q", got, want)
			}
			r, err := d.Client().Room(t.Context(), inv.Room)
			if err != nil {
				return err
			}
			var got []string
			for _, m := range r.MemberList {
				got = append(got, m.Name)
			}
			for _, n := range names {
				if !strings.Contains(strings.Join(got, "\n"), n) {
					return fmt.Errorf("member list %q lacks %q", got, n)
				}
			}
		}
		return nil
	})

	// The registry: tables there, the room with its three leases.
	db := testenv.SQL(t, b.db)
	var members int
	if err := db.QueryRow("SELECT members FROM sunoye_room_status WHERE room_no = ?", inv.Room).Scan(&members); err != nil || members != len(ds) {
		t.Errorf("sunoye_room_status: %d members, %v; want %d", members, err, len(ds))
	}
	var rooms int
	if err := db.QueryRow("SELECT COUNT(*) FROM sunoye_rooms").Scan(&rooms); err != nil || rooms != 1 {
		t.Errorf("sunoye_rooms holds %d rooms, %v; want 1", rooms, err)
	}

	// Room numbers that are not room numbers.
	bad := []string{
		"1' OR '1'='1",
		inv.Room + "' --",
		inv.Room + "; DROP TABLE sunoye_rooms",
		"٤٨٢٩١٣٠٥٧", // Arabic-Indic digits
		inv.Room + "\u200b",
		"%34%38%32%39%31%33%30%35%37",
	}
	for _, n := range bad {
		for _, args := range [][]string{{"join", n}, {"send", n, "hi"}, {"leave", n}, {"mute", n}, {"tail", n}} {
			wantExit(t, ds[1], password+"\n", exitUsage, []string{"room number"}, args...)
		}
		if _, err := ds[1].Client().Join(t.Context(), n, password); apiCode(err) != "bad_request" {
			t.Errorf("API join of room %q: %v, want bad_request", n, err)
		}
	}
	if r, _ := findRoom(roomsJSON(t, ds[1]), inv.Room); r.Members != len(ds) {
		t.Errorf("after the bad numbers: %+v", r)
	}
	if err := db.QueryRow("SELECT COUNT(*) FROM sunoye_rooms").Scan(&rooms); err != nil || rooms != 1 {
		t.Errorf("after the bad numbers sunoye_rooms holds %d rooms, %v", rooms, err)
	}
}

// Display names that are empty in all but bytes, too long or full of
// control characters are refused at start with exit 2 and a message that
// says what is wrong; at the limit (64 characters) a name is fine.
func TestDisplayNameLimits(t *testing.T) {
	bin := testenv.Sunoye(t)
	up := func(env []string, args ...string) (string, int) {
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append([]string{"up", "--headless", "--state-dir", shortTemp(t),
			"--broker", "tcp://" + closedPort(t), "--db", "sqlite://" + filepath.Join(t.TempDir(), "r.db")}, args...)...)
		cmd.Env = append(os.Environ(), append(env, "SUNOYE_CONFIG=/nonexistent")...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if err != nil && !asExit(err, &ee) {
			t.Fatal(err)
		}
		return string(out), cmd.ProcessState.ExitCode()
	}
	for _, tt := range []struct{ what, name, says string }{
		{"blank", "   ", "empty"},
		{"zero-width only", "\u200b\u200b", "empty"},
		{"65 characters", strings.Repeat("é", 65), "longer than 64"},
		{"100,000 characters", strings.Repeat("x", 100_000), "longer than 64"},
		{"an escape sequence", "Asha\x1b[31m", "control characters"},
		{"a new line", "Asha\nBilal", "control characters"},
		{"not UTF-8", "Asha\xff", "UTF-8"},
	} {
		out, code := up(nil, "--name", tt.name)
		if code != exitUsage || !strings.Contains(out, "display name") || !strings.Contains(out, tt.says) {
			t.Errorf("up --name (%s): exit %d, output %.300q; want exit %d saying %q", tt.what, code, out, exitUsage, tt.says)
		}
		if len(out) > 2000 {
			t.Errorf("up --name (%s): %d bytes of output: the name must not be echoed whole", tt.what, len(out))
		}
	}
	// The same from the environment.
	if out, code := up([]string{"SUNOYE_NAME=" + strings.Repeat("ü", 50_000)}); code != exitUsage || !strings.Contains(out, "longer than 64") || len(out) > 2000 {
		t.Errorf("SUNOYE_NAME of 100,000 bytes: exit %d, %d bytes of output: %.300q", code, len(out), out)
	}
}

// apiCode returns the code of an API error, or what err is otherwise.
func apiCode(err error) string {
	var api *web.APIError
	if errors.As(err, &api) {
		return api.Code
	}
	if err == nil {
		return "success"
	}
	return err.Error()
}

// shortTemp is a temporary directory with a short path: a unix socket's
// path must fit in 108 bytes.
func shortTemp(t *testing.T) string {
	dir, err := os.MkdirTemp("", "sy")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// Ten thousand wrong passwords for one room through the local API: every
// answer is wrong_password or too_many_attempts, never a success; only a
// handful cost a key derivation (the pause after five failures refuses
// the rest at once, doubling each time); the right password is refused
// during a pause and works once it is over; the daemon neither dies nor
// grows; the room's members notice nothing.
func TestTenThousandWrongPasswords(t *testing.T) {
	b := realBackend(t)
	ds := b.daemons(t, "Asha", "Mallory")
	asha, mallory := ds[0], ds[1]
	inv := create(t, asha)
	c := mallory.Client()
	join := func(password string) string {
		_, err := c.Join(t.Context(), inv.Room, password)
		return apiCode(err)
	}
	// The first five are derived and refused; the baseline footprint
	// includes what a derivation leaves behind.
	for i := range 5 {
		if got := join(fmt.Sprintf("first-guess-%d", i)); got != web.CodeWrongPass {
			t.Fatalf("guess %d: %s, want %s", i, got, web.CodeWrongPass)
		}
	}
	before := footprintOf(t, mallory.PID())

	const attempts, workers = 10_000, 4
	var (
		mu    sync.Mutex
		codes = map[string]int{}
		wg    sync.WaitGroup
		next  = make(chan int)
	)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				code := join(fmt.Sprintf("guess-%05d", i))
				mu.Lock()
				codes[code]++
				mu.Unlock()
			}
		}()
	}
	for i := range attempts {
		next <- i
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("%d wrong passwords in %v (%.0f a second, %d workers): %v", attempts, elapsed.Round(time.Millisecond),
		attempts/elapsed.Seconds(), workers, codes)
	for code, n := range codes {
		if code != web.CodeWrongPass && code != web.CodeTooManyAttempts {
			t.Errorf("%d answers %q, want only %s and %s", n, code, web.CodeWrongPass, web.CodeTooManyAttempts)
		}
	}
	// Pauses of 1, 2, 4, … s: within the elapsed time, at most this many
	// can have ended, each letting one guess through to a derivation.
	ended := 0
	for pause, sum := time.Second, time.Duration(0); sum+pause <= elapsed+time.Second; pause *= 2 {
		sum += pause
		ended++
	}
	if codes[web.CodeWrongPass] > ended+1 {
		t.Errorf("%d guesses were derived during %v, want at most %d", codes[web.CodeWrongPass], elapsed, ended+1)
	}

	// Wait for the pause in force to end: the first guess then derived
	// starts a new, longer one, during which the right password is refused
	// as well; once that is over, it works.
	eventually(t, 70*time.Second, func() error {
		if got := join("one-more-guess"); got != web.CodeWrongPass {
			return fmt.Errorf("still paused: %s", got)
		}
		return nil
	})
	paused := time.Now()
	if got := join(inv.Password); got != web.CodeTooManyAttempts {
		t.Errorf("right password during a pause: %s, want %s", got, web.CodeTooManyAttempts)
	}
	eventually(t, 70*time.Second, func() error {
		if got := join(inv.Password); got != "success" {
			return fmt.Errorf("right password: %s", got)
		}
		return nil
	})
	t.Logf("the right password worked %v after the last wrong one", time.Since(paused).Round(100*time.Millisecond))

	if mallory.Exited() {
		t.Fatalf("the daemon died:\n%s", tail(mallory.Log(), 30))
	}
	after := checkFootprint(t, "Mallory's daemon", mallory.PID(), before, 32, 4)
	t.Logf("Mallory's daemon before the guesses %s, after %s", before, after)
	waitPresent(t, 20*time.Second, inv.Room, 2, asha, mallory)
	must(t, asha, "send", inv.Room, "welcome")
	eventually(t, 20*time.Second, func() error {
		if got := texts(history(t, mallory, inv.Room)); len(got) != 1 {
			return fmt.Errorf("Mallory's history = %q", got)
		}
		return nil
	})
}
