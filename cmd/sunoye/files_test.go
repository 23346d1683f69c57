package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
	"github.com/sunoye/sunoye/web"
)

// packetCap is the packet size some hosted brokers allow: every piece of
// a file must fit in it, headers included.
const packetCap = 256 << 10

// cappedBackend is a mosquitto that takes no packet larger than
// packetCap, and MariaDB.
func cappedBackend(t *testing.T) backend {
	m := testenv.StartMosquittoLimited(t, packetCap)
	return backend{name: "mosquitto(256 KiB packets)+mariadb", first: m.URL(), others: m.URL(), db: testenv.MariaDB(t), mosquitto: m}
}

// randomFile writes n random bytes (after prefix) to a new file named
// name, and returns its path and SHA-256.
func randomFile(t *testing.T, name string, n int, prefix string) (string, string) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	copy(b, prefix)
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return path, hex.EncodeToString(sum[:])
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// filesIn returns the messages with files in d's history of room.
func filesIn(t *testing.T, d *testenv.Daemon, room string) []web.MessageJSON {
	t.Helper()
	var out []web.MessageJSON
	for _, m := range history(t, d, room) {
		if m.File != nil {
			out = append(out, m)
		}
	}
	return out
}

// waitFile waits until d shows the file named name in room, and returns
// its message.
func waitFile(t *testing.T, d *testenv.Daemon, room, name string, within time.Duration) web.MessageJSON {
	t.Helper()
	var found web.MessageJSON
	eventually(t, within, func() error {
		for _, m := range filesIn(t, d, room) {
			if m.File.Name == name {
				found = m
				return nil
			}
		}
		return fmt.Errorf("%s does not show %s in room %s", d.StateDir, name, room)
	})
	return found
}

// roomOfTwo starts Asha's and Bilal's daemons on b, and a room they are
// both present in.
func roomOfTwo(t *testing.T, b backend) (asha, bilal *testenv.Daemon, inv web.InviteJSON) {
	t.Helper()
	ds := b.daemons(t, "Asha", "Bilal")
	asha, bilal = ds[0], ds[1]
	logsOnFailure(t, ds...)
	inv = create(t, asha)
	must(t, bilal, "join", inv.Room, "--password", inv.Password)
	waitPresent(t, 20*time.Second, inv.Room, 2, asha, bilal)
	return asha, bilal, inv
}

// tailJSONLine runs `sunoye tail --json ROOM` against d until it prints
// a line that holds want, and returns that line.
func tailJSONLine(t *testing.T, d *testenv.Daemon, room, want string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testenv.Sunoye(t), "--state-dir", d.StateDir, "tail", "--json", room)
	cmd.Env = append(os.Environ(), "SUNOYE_CONFIG="+filepath.Join(d.StateDir, "no-config.toml"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cancel()
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if strings.Contains(sc.Text(), want) {
			return sc.Text()
		}
	}
	t.Fatalf("tail --json printed no line with %q", want)
	return ""
}

// runIn runs the CLI against d in directory dir.
func runIn(t *testing.T, d *testenv.Daemon, dir string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(testenv.Sunoye(t), append([]string{"--state-dir", d.StateDir}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SUNOYE_CONFIG="+filepath.Join(d.StateDir, "no-config.toml"))
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// A file of 8 MiB goes each way between two daemons over a broker that
// takes no packet over 256 KiB, and comes out of `save` with the bytes
// that went in; tail --json names it; a larger one is refused with a
// usage error; nothing is rejected or dropped.
func TestFiles8MiBEachWay(t *testing.T) {
	b := cappedBackend(t)
	asha, bilal, inv := roomOfTwo(t, b)

	for _, c := range []struct {
		from, to *testenv.Daemon
		name     string
	}{{asha, bilal, "from-asha.bin"}, {bilal, asha, "from-bilal.bin"}} {
		path, sum := randomFile(t, c.name, rooms.MaxFileBytes, "")
		start := time.Now()
		must(t, c.from, "send", inv.Room, "--file", path, "the", "caption")
		t.Logf("%s: 8 MiB sent (confirmed by the broker) in %v", c.name, time.Since(start).Round(time.Millisecond))
		m := waitFile(t, c.to, inv.Room, c.name, 60*time.Second)
		t.Logf("%s: shown at the receiver %v after the send began", c.name, time.Since(start).Round(time.Millisecond))
		if m.File.Size != rooms.MaxFileBytes || m.File.Type != "application/octet-stream" || m.Text != "the caption" {
			t.Errorf("received %+v, file %+v", m, m.File)
		}
		out := filepath.Join(t.TempDir(), "saved")
		must(t, c.to, "save", inv.Room, m.ID, out)
		if got := sha256File(t, out); got != sum {
			t.Errorf("%s saved with SHA-256 %s, sent %s", c.name, got, sum)
		}
		// The sender keeps its own copy too.
		must(t, c.from, "save", inv.Room, m.ID, out+"-own")
		if got := sha256File(t, out+"-own"); got != sum {
			t.Errorf("%s: the sender's copy has SHA-256 %s, sent %s", c.name, got, sum)
		}
	}

	// tail --json names the file, as a user's script reads it.
	if line := tailJSONLine(t, bilal, inv.Room, "from-asha.bin"); !strings.Contains(line, `"file":{"name":"from-asha.bin","type":"application/octet-stream","size":8388608}`) {
		t.Errorf("tail --json printed %s", line)
	}

	// save: the file's name in the current directory by default, never
	// over an existing file without --force.
	msgs := filesIn(t, bilal, inv.Room)
	dir := t.TempDir()
	if out, code := runIn(t, bilal, dir, "save", inv.Room, msgs[0].ID); code != 0 {
		t.Fatalf("save: exit %d: %s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "from-asha.bin")); err != nil {
		t.Errorf("save without a path: %v", err)
	}
	if out, code := runIn(t, bilal, dir, "save", inv.Room, msgs[0].ID); code != exitUsage || !strings.Contains(out, "--force") {
		t.Errorf("save over an existing file: exit %d: %s", code, out)
	}
	if out, code := runIn(t, bilal, dir, "save", "--force", inv.Room, msgs[0].ID); code != 0 {
		t.Errorf("save --force: exit %d: %s", code, out)
	}
	wantExit(t, bilal, "", exitError, []string{"no such file"}, "save", inv.Room, "nosuchmessage")

	big, _ := randomFile(t, "big.bin", rooms.MaxFileBytes+1, "")
	wantExit(t, asha, "", exitUsage, []string{"at most 8388608"}, "send", inv.Room, "--file", big)

	for _, d := range []*testenv.Daemon{asha, bilal} {
		r, _ := findRoom(roomsJSON(t, d), inv.Room)
		if r.Rejected != 0 || r.FilesDropped != 0 {
			t.Errorf("%s counted %d rejected, %d files dropped", d.StateDir, r.Rejected, r.FilesDropped)
		}
		if n := len(filesIn(t, d, inv.Room)); n != 2 {
			t.Errorf("%s shows %d files, want 2", d.StateDir, n)
		}
	}
}

// hostileMember is a broker client that holds a room's key (taken from a
// member's state file) and signs with an identity of its own.
type hostileMember struct {
	t      *testing.T
	forger *rooms.Forger
	client paho.Client
}

func newHostileMember(t *testing.T, m *testenv.Mosquitto, member *testenv.Daemon, room string) *hostileMember {
	t.Helper()
	st, err := loadState(member.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	var key rooms.Key
	for _, sr := range st.rooms() {
		if string(sr.ID) == room {
			if key, err = rooms.KeyFromBytes(sr.Key); err != nil {
				t.Fatal(err)
			}
		}
	}
	o := paho.NewClientOptions().AddBroker(m.URL()).SetClientID("mallory-files").SetCleanSession(true)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return &hostileMember{t: t, forger: rooms.NewForger(key, rooms.NewIdentity(), "Mallory"), client: c}
}

func (h *hostileMember) publish(payload []byte, err error) {
	h.t.Helper()
	if err != nil {
		h.t.Fatal(err)
	}
	tok := h.client.Publish(h.forger.Topic(), 1, false, payload)
	if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		h.t.Fatalf("publish: %v", tok.Error())
	}
}

func (h *hostileMember) header(id, name string, size int64, pieces int, sum string) {
	h.t.Helper()
	h.publish(h.forger.Header(id, name, size, pieces, sum, time.Now().UnixMilli()))
}

func (h *hostileMember) piece(id string, i int, data []byte) {
	h.t.Helper()
	h.publish(h.forger.Piece(id, i, data, time.Now().UnixMilli()))
}

// A member holding the room key sends files that lie — about their size,
// their hash, their number of pieces — or floods the room with files it
// never finishes. Each is refused and counted; nothing is shown, half or
// whole; the daemon's memory stays bounded; the others' files still come.
func TestHostileFiles(t *testing.T) {
	b := cappedBackend(t)
	asha, bilal, inv := roomOfTwo(t, b)
	mal := newHostileMember(t, b.mosquitto, bilal, inv.Room)
	before := footprintOf(t, asha.PID())

	piece := make([]byte, rooms.PieceBytes)
	rand.Read(piece)
	sumOf := func(b ...[]byte) string {
		h := sha256.New()
		for _, p := range b {
			h.Write(p)
		}
		return hex.EncodeToString(h.Sum(nil))
	}
	// Refused on sight: 10 GiB announced; a million pieces announced.
	mal.header("huge", "huge.bin", 10<<30, (10<<30)/rooms.PieceBytes, sumOf(piece))
	mal.header("many", "many.bin", 5, 1_000_000, sumOf(piece))
	// Refused once put together: two whole pieces that do not match the
	// hash announced.
	mal.header("forged", "forged.bin", 2*rooms.PieceBytes, 2, sumOf([]byte("something else")))
	mal.piece("forged", 0, piece)
	mal.piece("forged", 1, piece)
	// Refused at the piece: one of the wrong size.
	mal.header("short", "short.bin", 2*rooms.PieceBytes, 2, sumOf(piece, piece))
	mal.piece("short", 0, piece[:100])
	// Dropped after the deadline: a piece that never comes.
	mal.header("missing", "missing.bin", 2*rooms.PieceBytes, 2, sumOf(piece, piece))
	mal.piece("missing", 0, piece)
	// A flood of files announced at 8 MiB each, each with a few pieces,
	// interleaved: only a couple are put together at once.
	const flood = 40
	for i := range flood {
		id := fmt.Sprintf("flood%d", i)
		mal.header(id, id, rooms.MaxFileBytes, (rooms.MaxFileBytes+rooms.PieceBytes-1)/rooms.PieceBytes, sumOf(piece))
	}
	for j := range 3 {
		for i := range flood {
			mal.piece(fmt.Sprintf("flood%d", i), j, piece)
		}
	}

	// A genuine file from Bilal comes through all the same.
	path, sum := randomFile(t, "real.png", 3*rooms.PieceBytes, "\x89PNG\r\n\x1a\n")
	must(t, bilal, "send", inv.Room, "--file", path)
	m := waitFile(t, asha, inv.Room, "real.png", 60*time.Second)
	if m.File.Type != "image/png" {
		t.Errorf("real.png sniffed as %s", m.File.Type)
	}
	out := filepath.Join(t.TempDir(), "real.png")
	must(t, asha, "save", inv.Room, m.ID, out)
	if got := sha256File(t, out); got != sum {
		t.Errorf("real.png saved with SHA-256 %s, sent %s", got, sum)
	}

	// Counted: the two announcements refused on sight and the pieces of
	// files refused or not being put together are rejected payloads; the
	// forged, short and missing files, and all but two of the flood, are
	// dropped files (missing.bin and the two flood files let in only
	// once their pieces stop coming, after 30 s).
	var r web.RoomJSON
	eventually(t, 90*time.Second, func() error {
		r, _ = findRoom(roomsJSON(t, asha), inv.Room)
		if want := uint64(3 + flood); r.FilesDropped < want {
			return fmt.Errorf("files dropped %d, want %d; rejected %d", r.FilesDropped, want, r.Rejected)
		}
		return nil
	})
	if r.Rejected < 2+1 {
		t.Errorf("rejected %d", r.Rejected)
	}
	t.Logf("Asha counted %d rejected payloads, %d files dropped", r.Rejected, r.FilesDropped)
	for _, f := range filesIn(t, asha, inv.Room) {
		if f.File.Name != "real.png" {
			t.Errorf("Asha shows the hostile file %+v", f.File)
		}
	}
	if asha.Exited() {
		t.Fatalf("Asha's daemon died:\n%s", tail(asha.Log(), 30))
	}
	// Bounded: the flood's files being put together announce at most
	// 16 MiB; the genuine file and its copies a few MiB more.
	after := checkFootprint(t, "Asha's daemon", asha.PID(), before, 48, 8)
	t.Logf("Asha's daemon before the hostile files %s, after %s", before, after)
}

// A member whose daemon is killed while a file comes in, and started
// again, shows the file once, whole: what the broker sends again (the
// header, and the pieces not taken before the kill) and what its sender
// sends again when asked (the pieces taken in before the kill, which
// were acknowledged and in memory only) complete it.
func TestFileReceiverKilledMidFile(t *testing.T) {
	for _, c := range []struct {
		name string
		kill func(t *testing.T, asha, bilal *testenv.Daemon, send func())
	}{
		// Killed as the file comes: depending on the machine's speed he
		// has taken none of its pieces, or a few.
		{"as the file comes", func(t *testing.T, asha, bilal *testenv.Daemon, send func()) {
			go send()
			bilal.Kill(t)
		}},
		// Asleep while it was sent, then killed once he has taken some of
		// it: those pieces were acknowledged, and are gone with him.
		{"after taking some of it", func(t *testing.T, asha, bilal *testenv.Daemon, send func()) {
			bilal.Freeze(t)
			send()
			before, err := rssKiB(bilal.PID())
			if err != nil {
				t.Fatal(err)
			}
			bilal.Thaw(t)
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				if now, err := rssKiB(bilal.PID()); err != nil || now-before >= 1024 {
					break // a MiB of pieces taken in, or he has gone
				}
			}
			bilal.Kill(t)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := testenv.StartMosquittoPersistent(t)
			b := backend{first: m.URL(), others: m.URL(), db: testenv.MariaDB(t), mosquitto: m}
			asha, bilal, inv := roomOfTwo(t, b)

			path, sum := randomFile(t, "mid.bin", rooms.MaxFileBytes, "")
			sent := make(chan testenv.Result, 1)
			c.kill(t, asha, bilal, func() { sent <- asha.Run(t, "send", inv.Room, "--file", path) })
			if r := <-sent; r.Code != 0 {
				t.Fatalf("send: exit %d: %s", r.Code, r.Stderr)
			}
			bilal.Start(t)
			started := time.Now()
			eventually(t, 90*time.Second, func() error {
				fs := filesIn(t, bilal, inv.Room)
				r, err := roomInfo(t.Context(), bilal, inv.Room)
				if err != nil {
					return err
				}
				switch {
				case len(fs) > 1:
					t.Fatalf("the file shows %d times", len(fs))
				case r.FilesDropped > 0:
					t.Fatalf("the file was dropped")
				case len(fs) == 1:
					return nil
				}
				return fmt.Errorf("not shown yet")
			})
			fs := filesIn(t, bilal, inv.Room)
			out := filepath.Join(t.TempDir(), "mid.bin")
			must(t, bilal, "save", inv.Room, fs[0].ID, out)
			if got := sha256File(t, out); got != sum {
				t.Errorf("saved with SHA-256 %s, sent %s", got, sum)
			}
			how := "the broker sent it all again"
			if strings.Contains(bilal.Log(), "asking for a file's missing pieces") {
				how = "the pieces taken before the kill were asked for again"
			}
			t.Logf("the file was shown once, whole, %v after the restart: %s", time.Since(started).Round(time.Millisecond), how)

			// And the room goes on: the next file comes.
			path2, _ := randomFile(t, "after.bin", 1000, "")
			must(t, asha, "send", inv.Room, "--file", path2)
			waitFile(t, bilal, inv.Room, "after.bin", 30*time.Second)
			if fs := filesIn(t, bilal, inv.Room); len(fs) > 2 {
				t.Errorf("Bilal shows %d files", len(fs))
			}
		})
	}
}

// tail without --json names a message's file, how to save it, and its
// caption; a hostile name cannot rewrite the terminal.
func TestTailPrintsFile(t *testing.T) {
	var b strings.Builder
	m := web.MessageJSON{
		Room: "482913057", ID: "abc123", From: "Bilal", Sender: "k4x9q2aaaaaaaaaaaaaaaaaa", Text: "look",
		TS: "2026-12-03T08:00:00.000Z", File: &web.FileJSON{Name: "cat\x1b[2J.png", Type: "image/png", Size: 48213},
	}
	if err := printMessage(&b, m); err != nil {
		t.Fatal(err)
	}
	want := "[file cat\uFFFD[2J.png, image/png, 47.1 KiB: sunoye save 482913057 abc123] look\n"
	if got := b.String(); !strings.HasSuffix(got, want) {
		t.Errorf("tail printed %q, want it to end with %q", got, want)
	}
}
