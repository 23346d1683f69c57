package rooms

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// pngBytes returns n bytes that sniff as a PNG.
func pngBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	copy(b, "\x89PNG\r\n\x1a\n")
	return b
}

// A file sent by one member is put together, checked and shown to the
// other, with its bytes; the sender keeps its own; both show it once.
func TestFileRoundTrip(t *testing.T) {
	t.Parallel()
	reg, broker := newMemRegistry(), newMemBroker()
	asha, _ := newTestService(t, "Asha", reg, broker)
	bilal, _ := newTestService(t, "Bilal", reg, broker)
	inv, err := asha.Create(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := bilal.Join(t.Context(), inv.Room, inv.Password); err != nil {
		t.Fatal(err)
	}
	data := pngBytes(t, 3*pieceBytes+17)
	m, err := asha.SendFile(t.Context(), inv.Room, "../cat.png", data, "look")
	if err != nil {
		t.Fatal(err)
	}
	if m.File == nil || m.File.Size != int64(len(data)) || m.File.Type != "image/png" {
		t.Fatalf("sent message's file = %+v", m.File)
	}
	var got []Message
	waitFor(t, "the file at Bilal's", func() bool {
		got, _ = bilal.History(inv.Room)
		return len(got) == 1
	})
	if got[0].ID != m.ID || got[0].Text != "look" || got[0].File == nil || got[0].File.Name != "../cat.png" || got[0].File.Type != "image/png" {
		t.Fatalf("Bilal shows %+v (file %+v)", got[0], got[0].File)
	}
	for who, svc := range map[string]*Service{"Asha": asha, "Bilal": bilal} {
		fi, b, err := svc.File(inv.Room, m.ID)
		if err != nil || !bytes.Equal(b, data) || fi.Size != int64(len(data)) {
			t.Errorf("%s copy: %d bytes, %+v, %v; want the %d bytes sent", who, len(b), fi, err, len(data))
		}
	}
	waitFor(t, "Asha's echo handled", func() bool {
		h, _ := asha.History(inv.Room)
		return len(h) == 1 && !asha.room(inv.Room).files.isBuilding(asha.me, m.ID)
	})
	if in, _ := bilal.Room(inv.Room); in.Rejected != 0 || in.FilesDropped != 0 {
		t.Errorf("Bilal counted %d rejected, %d files dropped", in.Rejected, in.FilesDropped)
	}
	if err := bilal.Leave(t.Context(), inv.Room); err != nil {
		t.Fatal(err)
	}
	if _, _, err := bilal.File(inv.Room, m.ID); !errors.Is(err, ErrNotJoined) {
		t.Errorf("after leaving, File = %v", err)
	}
}

func TestSendFileRefusesTooLarge(t *testing.T) {
	t.Parallel()
	reg, broker := newMemRegistry(), newMemBroker()
	asha, _ := newTestService(t, "Asha", reg, broker)
	inv, err := asha.Create(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = asha.SendFile(t.Context(), inv.Room, "big.bin", make([]byte, MaxFileBytes+1), "")
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("a file of 8 MiB + 1: %v, want ErrTooLarge", err)
	}
	if _, err := asha.SendFile(t.Context(), inv.Room, "a\x00b", []byte("x"), ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("a name with a NUL: %v, want ErrInvalid", err)
	}
}

// fileFixture is Asha's room; Bilal (hostile or not) sends her files
// piece by piece.
type fileFixture struct {
	replayFixture
	acked atomic.Int64 // payloads handled
	sent  atomic.Int64 // payloads delivered
	seq   uint64
}

func newFileFixture(t *testing.T) *fileFixture {
	return &fileFixture{replayFixture: newReplayFixture(t)}
}

func (fx *fileFixture) deliver(b body) {
	fx.t.Helper()
	p, err := seal(fx.r.aead, fx.r.topics.messages, fx.bilal, b)
	if err != nil {
		fx.t.Fatal(err)
	}
	fx.sent.Add(1)
	fx.svc.deliver(fx.r, Packet{Topic: fx.r.topics.messages, Payload: p}, func() { fx.acked.Add(1) })
}

// header returns the header of Bilal's file id with data, as meta says
// (nil: as it should).
func (fx *fileFixture) header(id string, data []byte, meta *fileMeta) body {
	fx.seq++
	if meta == nil {
		sum := sha256.Sum256(data)
		meta = &fileMeta{Name: id + ".bin", Size: int64(len(data)), Pieces: piecesOf(int64(len(data))), SHA256: hex.EncodeToString(sum[:])}
	}
	return body{Type: typeFile, ID: id, Name: "Bilal", TS: time.Now().UnixMilli(), Run: 1, Seq: fx.seq, File: meta}
}

func piece(id string, i int, data []byte) body {
	return body{Type: typePiece, ID: id, Name: "Bilal", TS: time.Now().UnixMilli(), Piece: &filePiece{Index: i, Data: data}}
}

// pieces returns the pieces of data.
func pieces(id string, data []byte) []body {
	var out []body
	for i := range piecesOf(int64(len(data))) {
		out = append(out, piece(id, i, data[i*pieceBytes:i*pieceBytes+pieceLen(int64(len(data)), i)]))
	}
	return out
}

func (fx *fileFixture) counts() (rejected, dropped uint64) {
	in := fx.r.info(fx.svc.me)
	return in.Rejected, in.FilesDropped
}

// Pieces in any order make the file; a redelivered piece changes nothing;
// every payload is acknowledged once handled.
func TestFileAssembledOutOfOrder(t *testing.T) {
	fx := newFileFixture(t)
	data := pngBytes(t, 2*pieceBytes+5)
	fx.deliver(fx.header("f1", data, nil))
	ps := pieces("f1", data)
	fx.deliver(ps[2])
	fx.deliver(ps[0])
	fx.deliver(ps[0])
	if got := fx.shown(); len(got) != 0 {
		t.Fatalf("shown %q before the last piece", got)
	}
	fx.deliver(ps[1])
	fx.want("f1")
	if b, err := fx.r.files.get("f1"); err != nil || !bytes.Equal(b, data) {
		t.Fatalf("kept %d bytes, %v", len(b), err)
	}
	if n, s := fx.acked.Load(), fx.sent.Load(); n != s {
		t.Errorf("%d of %d payloads acknowledged", n, s)
	}
	if r, d := fx.counts(); r != 0 || d != 0 {
		t.Errorf("rejected %d, dropped %d", r, d)
	}
	// The whole file again (a replay): not shown again, nothing kept twice.
	fx.deliver(body{Type: typeFile, ID: "f1", Name: "Bilal", TS: time.Now().UnixMilli(), Run: 1, Seq: 1, File: fx.header("f1", data, nil).File})
	for _, p := range ps {
		fx.deliver(p)
	}
	fx.want("f1")
}

// Every way a hostile sender can get a file wrong is refused, counted,
// and never shows anything.
func TestFileHostile(t *testing.T) {
	data := pngBytes(t, 2*pieceBytes+5)
	sum := sha256.Sum256(data)
	good := hex.EncodeToString(sum[:])
	cases := []struct {
		name         string
		send         func(fx *fileFixture)
		rejected     uint64
		droppedFiles uint64
	}{
		{"wrong hash", func(fx *fileFixture) {
			other := sha256.Sum256([]byte("other"))
			fx.deliver(fx.header("f", data, &fileMeta{Name: "f", Size: int64(len(data)), Pieces: 3, SHA256: hex.EncodeToString(other[:])}))
			for _, p := range pieces("f", data) {
				fx.deliver(p)
			}
		}, 1, 1},
		{"wrong size announced", func(fx *fileFixture) {
			fx.deliver(fx.header("f", data, &fileMeta{Name: "f", Size: int64(len(data)) + 1, Pieces: 3, SHA256: good}))
			for _, p := range pieces("f", data) {
				fx.deliver(p) // the last piece is one byte short: the file goes
			}
		}, 1, 1},
		{"piece of the wrong size", func(fx *fileFixture) {
			fx.deliver(fx.header("f", data, nil))
			fx.deliver(piece("f", 0, data[:100]))
		}, 1, 1},
		{"piece beyond the file", func(fx *fileFixture) {
			fx.deliver(fx.header("f", data, nil))
			fx.deliver(piece("f", 7, data[:5]))
		}, 1, 1},
		{"pieces of no file", func(fx *fileFixture) {
			for _, p := range pieces("f", data) {
				fx.deliver(p)
			}
		}, 3, 0},
		{"10 GiB announced", func(fx *fileFixture) {
			fx.deliver(fx.header("f", nil, &fileMeta{Name: "f", Size: 10 << 30, Pieces: (10 << 30) / pieceBytes, SHA256: good}))
		}, 1, 0},
		{"a million pieces", func(fx *fileFixture) {
			fx.deliver(fx.header("f", nil, &fileMeta{Name: "f", Size: 5, Pieces: 1_000_000, SHA256: good}))
			fx.deliver(piece("f", 999_999, []byte("hello")))
		}, 2, 0},
		{"an oversized piece", func(fx *fileFixture) {
			fx.deliver(fx.header("f", data, nil))
			fx.deliver(piece("f", 0, make([]byte, pieceBytes+1)))
		}, 1, 0},
		{"a name with control characters", func(fx *fileFixture) {
			fx.deliver(fx.header("f", nil, &fileMeta{Name: "a\x1b[2Jb", Size: int64(len(data)), Pieces: 3, SHA256: good}))
		}, 1, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fx := newFileFixture(t)
			c.send(fx)
			if got := fx.shown(); len(got) != 0 {
				t.Errorf("shown %q", got)
			}
			if r, d := fx.counts(); r != c.rejected || d != c.droppedFiles {
				t.Errorf("rejected %d, files dropped %d; want %d, %d", r, d, c.rejected, c.droppedFiles)
			}
			if _, _, err := fx.svc.File(fx.r.id, "f"); err == nil {
				t.Error("a file is kept")
			}
		})
	}
}

// A file whose pieces stop coming is dropped after the deadline, its
// header acknowledged, never shown; its late pieces are refused.
func TestFileIncompleteExpires(t *testing.T) {
	fx := newFileFixture(t)
	data := pngBytes(t, 2*pieceBytes+5)
	fx.deliver(fx.header("f", data, nil))
	ps := pieces("f", data)
	fx.deliver(ps[0])
	k := fileKey{fx.bilal.Member(), "f"}
	if dropped, again := fx.r.files.expire(k, time.Now()); dropped || again <= 0 {
		t.Fatalf("expired early: %v, %v", dropped, again)
	}
	if n := fx.acked.Load(); n != 1 {
		t.Errorf("%d payloads acknowledged before the file is decided, want 1 (the piece)", n)
	}
	if dropped, _ := fx.r.files.expire(k, time.Now().Add(pieceDeadline+time.Second)); !dropped {
		t.Fatal("not dropped after the deadline")
	}
	if n := fx.acked.Load(); n != 2 {
		t.Errorf("%d payloads acknowledged, want both", n)
	}
	// A sender trickling pieces, each within the piece deadline, has
	// its file dropped all the same once it has taken too long in all.
	fx.deliver(fx.header("g", data, nil))
	g := fileKey{fx.bilal.Member(), "g"}
	start := time.Now()
	for i, at := range []time.Duration{25 * time.Second, 50 * time.Second} {
		fx.r.files.mu.Lock()
		fx.r.files.building[g].last = start.Add(at)
		fx.r.files.mu.Unlock()
		if dropped, _ := fx.r.files.expire(g, start.Add(at+time.Second)); dropped {
			t.Fatalf("trickled file dropped after piece %d", i)
		}
	}
	if dropped, _ := fx.r.files.expire(g, start.Add(fileDeadline+time.Second)); !dropped {
		t.Error("a trickled file is not dropped after fileDeadline")
	}
	fx.deliver(ps[0])
	fx.deliver(ps[1])
	fx.deliver(ps[2])
	if got := fx.shown(); len(got) != 0 {
		t.Errorf("shown %q", got)
	}
	if r, d := fx.counts(); r != 3 || d != 2 {
		t.Errorf("rejected %d, files dropped %d; want 3 (the late pieces), 2", r, d)
	}
}

// A hostile member announcing file after file, each with some of its
// pieces, to exhaust memory: only a few are put together at once, and the
// daemon's memory stays within the bound however long it goes on.
func TestFileFloodMemoryBound(t *testing.T) {
	fx := newFileFixture(t)
	big := make([]byte, MaxFileBytes)
	rand.Read(big)
	sum := sha256.Sum256(big)
	meta := fileMeta{Name: "f", Size: MaxFileBytes, Pieces: maxPieces, SHA256: hex.EncodeToString(sum[:])}
	chunk := big[:pieceBytes]
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const files, each = 60, 4
	for i := range files {
		id := "f" + hex.EncodeToString([]byte{byte(i), byte(i >> 8)})
		m := meta
		fx.deliver(fx.header(id, nil, &m))
		for j := range each {
			fx.deliver(piece(id, j, chunk))
		}
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	// The pieces of the files let in (at most maxAssemblingPerSender of
	// them, 4 pieces each: 1.3 MiB), with room to spare; without a bound
	// they would be 38 MiB.
	if limit := int64(8 << 20); grew > limit {
		t.Errorf("heap grew by %d MiB under the flood, more than %d MiB", grew>>20, limit>>20)
	}
	fx.r.files.mu.Lock()
	building, announced := len(fx.r.files.building), fx.r.files.announced
	fx.r.files.mu.Unlock()
	if building > maxAssemblingPerSender || announced > assemblyBudget {
		t.Errorf("%d files being put together announcing %d bytes", building, announced)
	}
	if _, d := fx.counts(); d != files-uint64(building) {
		t.Errorf("files dropped %d, want %d", d, files-building)
	}
	t.Logf("heap grew by %.1f MiB after %d files of 8 MiB announced with %d pieces each", float64(grew)/(1<<20), files, each)
}

// The room keeps its files within its budget: the oldest files' bytes go
// first, their messages say so.
func TestFileBudgetEvictsOldest(t *testing.T) {
	f := newRoomFiles(3 << 20)
	for i := range 4 {
		f.keep(string(rune('a'+i)), make([]byte, 1<<20))
	}
	if _, err := f.get("a"); !errors.Is(err, ErrFileGone) {
		t.Errorf("oldest: %v, want ErrFileGone", err)
	}
	for _, id := range []string{"b", "c", "d"} {
		if _, err := f.get(id); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
	if _, err := f.get("z"); !errors.Is(err, ErrNoFile) {
		t.Errorf("unknown: %v", err)
	}
}

func TestSniffAndSafeName(t *testing.T) {
	for in, want := range map[string]string{
		"\x89PNG\r\n\x1a\nxxxx":        "image/png",
		"\xff\xd8\xff\xe0":             "image/jpeg",
		"GIF89a...":                    "image/gif",
		"RIFF\x00\x00\x00\x00WEBPVP8 ": "image/webp",
		"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>": "application/octet-stream",
		"%PDF-1.7": "application/octet-stream",
	} {
		if got := SniffType([]byte(in)); got != want {
			t.Errorf("SniffType(%q) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"../../etc/passwd": "passwd",
		"..":               "file",
		".bashrc":          "bashrc",
		`C:\x\evil.exe`:    "evil.exe",
		"a\x1bb:c.txt":     "ab_c.txt",
		"cat.png":          "cat.png",
	} {
		if got := SafeFileName(in); got != want {
			t.Errorf("SafeFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

// A receiver that stops mid-file has acknowledged the pieces it took and
// not the header: the broker sends the next run the header and the rest
// only. The file is then never shown half: it waits for its sender to
// send the missing pieces again (TestFileMissingPiecesAskedAgain; this
// sender, forged here, never does), and is dropped at the deadline, its
// header acknowledged at last.
func TestFileRestartMidFile(t *testing.T) {
	data := pngBytes(t, 3*pieceBytes)
	first := newFileFixture(t)
	header := first.header("f", data, nil)
	ps := pieces("f", data)
	first.deliver(header)
	first.deliver(ps[0])
	first.deliver(ps[1])
	if n, s := first.acked.Load(), first.sent.Load(); n != s-1 {
		t.Fatalf("%d of %d payloads acknowledged before the stop; want all but the header", n, s)
	}
	// The next run: the same member, fresh memory; the broker sends what
	// was not acknowledged.
	next := newFileFixture(t)
	next.deliver(header)
	next.deliver(ps[2])
	if got := next.shown(); len(got) != 0 {
		t.Fatalf("shown %q with a piece missing", got)
	}
	if dropped, _ := next.r.files.expire(fileKey{next.bilal.Member(), "f"}, time.Now().Add(pieceDeadline+time.Second)); !dropped {
		t.Fatal("not dropped at the deadline")
	}
	if n, s := next.acked.Load(), next.sent.Load(); n != s {
		t.Errorf("%d of %d payloads acknowledged after the drop", n, s)
	}
	if got := next.shown(); len(got) != 0 {
		t.Errorf("shown %q", got)
	}
}

// A file's header that waits in the room's pipeline (packets queued
// behind it) is handled before its pieces, which are larger than any
// other payload and come after it: they take their turn too. (They once
// skipped the pipeline, as payloads too large to open: a piece handled
// before its header was refused as an orphan, and the file was lost.)
func TestFilePiecesWaitForTheirHeader(t *testing.T) {
	fx := newFileFixture(t)
	data := pngBytes(t, 3*pieceBytes)
	seal1 := func(b body) Packet {
		p, err := seal(fx.r.aead, fx.r.topics.messages, fx.bilal, b)
		if err != nil {
			t.Fatal(err)
		}
		fx.sent.Add(1)
		return Packet{Topic: fx.r.topics.messages, Payload: p}
	}
	h := seal1(fx.header("f1", data, nil))
	ps := pieces("f1", data)
	var pkts []Packet
	for _, p := range ps {
		pkts = append(pkts, seal1(p))
	}
	ack := func() { fx.acked.Add(1) }
	// Work ahead of the header in the pipeline: payloads that do not
	// open (a hostile member's, say), the largest a message may be.
	const ahead = 200
	for range ahead {
		junk := make([]byte, MaxPayloadBytes)
		rand.Read(junk)
		fx.sent.Add(1)
		fx.svc.deliverBehind(fx.r, Packet{Topic: fx.r.topics.messages, Payload: junk}, ack)
	}
	fx.svc.deliverBehind(fx.r, h, ack)
	for i, p := range pkts {
		if i < len(pkts)-1 {
			fx.svc.deliverBehind(fx.r, p, ack)
		} else {
			fx.svc.deliver(fx.r, p, ack) // the last: nothing behind it
		}
	}
	waitFor(t, "the file shown", func() bool { return len(fx.shown()) > 0 })
	fx.want("f1")
	waitFor(t, "every payload acknowledged", func() bool { return fx.acked.Load() == fx.sent.Load() })
	if r, d := fx.counts(); r != ahead || d != 0 {
		t.Errorf("rejected %d (want the %d ahead), dropped %d", r, ahead, d)
	}
}

// A file whose pieces stop coming — a receiver that crashed after taking
// some (they were acknowledged, and in its memory only), or a broker that
// dropped them — is completed by asking its sender again: the receiver
// asks for the missing pieces once they have stopped coming, and the
// sender, which keeps its files, publishes those again, once however
// often it is asked.
func TestFileMissingPiecesAskedAgain(t *testing.T) {
	t.Parallel()
	var drop, large atomic.Int32
	drop.Store(2)
	b := &hookedBroker{memBroker: newMemBroker(), hook: func(_ context.Context, p Packet, publish func() error) error {
		if len(p.Payload) > 64<<10 {
			large.Add(1)
			if drop.Add(-1) >= 0 {
				return nil // lost on the way
			}
		}
		return publish()
	}}
	asha, bilal, room := newChatPair(t, b)
	data := pngBytes(t, 3*pieceBytes+17)
	m, err := asha.SendFile(t.Context(), room, "cat.png", data, "")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	deadline := time.Now().Add(pieceDeadline)
	for {
		h, _ := bilal.History(room)
		if len(h) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the file did not arrive within %v; %d large publishes", pieceDeadline, large.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("two of four pieces lost: the file arrived after %v (asked again after %v)", time.Since(start).Round(time.Millisecond), wantAfter)
	if _, got, err := bilal.File(room, m.ID); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Bilal's copy: %d bytes, %v", len(got), err)
	}
	if n := large.Load(); n != 5 {
		t.Errorf("%d large pieces published in all, want 5: the 3 (the fourth is small), and the 2 lost again", n)
	}
	if in, _ := bilal.Room(room); in.Rejected != 0 || in.FilesDropped != 0 {
		t.Errorf("Bilal counted %d rejected, %d files dropped", in.Rejected, in.FilesDropped)
	}
}

// A want is answered at most once per member and file, and maxAnswers
// times in a room, every wantEvery, however often and by how many
// identities it is asked: a member cannot make a sender publish its files
// in a loop, nor keep others' wants from an answer with wants of nothing.
// Wants that are not what a member sends are refused.
func TestWantBounded(t *testing.T) {
	t.Parallel()
	var large atomic.Int32
	b := &hookedBroker{memBroker: newMemBroker(), hook: func(_ context.Context, p Packet, publish func() error) error {
		if len(p.Payload) > 64<<10 {
			large.Add(1)
		}
		return publish()
	}}
	asha, _ := newTestService(t, "Asha", newMemRegistry(), b)
	inv, err := asha.Create(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	data := pngBytes(t, 2*pieceBytes)
	m, err := asha.SendFile(t.Context(), inv.Room, "cat.png", data, "")
	if err != nil {
		t.Fatal(err)
	}
	r := asha.room(inv.Room)
	mallory := fuzzIdentity(t, 9)
	wantAs := func(who Identity, id string, pieces []int) Packet {
		p, err := seal(r.aead, r.topics.messages, who, body{Type: typeWant, ID: id, Name: "Mallory", TS: time.Now().UnixMilli(), Want: pieces})
		if err != nil {
			t.Fatal(err)
		}
		return Packet{Topic: r.topics.messages, Payload: p}
	}
	want := func(id string, pieces []int) Packet { return wantAs(mallory, id, pieces) }
	before := large.Load()
	for range 20 {
		b.publish(want(m.ID, []int{40, 51})) // past the file's end: nothing to send
	}
	for range 100 {
		b.publish(want(m.ID, []int{0, 1, 1, 0}))
	}
	waitFor(t, "the answer", func() bool { return large.Load() >= before+2 })
	time.Sleep(100 * time.Millisecond) // an observation of what does not happen: more
	if n := large.Load() - before; n != 2 {
		t.Errorf("100 wants of pieces 0, 1, 1, 0 made Asha publish %d pieces, want one answer (2: each once)", n)
	}
	// Many identities: maxAnswers answers in all (Mallory's one included).
	before = large.Load()
	for i := range 10 {
		b.publish(wantAs(fuzzIdentity(t, byte(20+i)), m.ID, []int{0}))
	}
	waitFor(t, "the answers", func() bool { return large.Load() >= before+maxAnswers-1 })
	time.Sleep(100 * time.Millisecond) // an observation of what does not happen: more
	if n := large.Load() - before; n != maxAnswers-1 {
		t.Errorf("10 identities' wants made Asha publish %d pieces, want %d", n, maxAnswers-1)
	}
	count := func() uint64 { in, _ := asha.Room(inv.Room); return in.Rejected }
	for what, p := range map[string]Packet{
		"no pieces":     want(m.ID, nil),
		"a bad piece":   want(m.ID, []int{maxPieces}),
		"a negative":    want(m.ID, []int{-1}),
		"too many":      want(m.ID, make([]int, maxPieces+1)),
		"a bad file id": want("../x", []int{0}),
	} {
		before := count()
		asha.deliverNow(r, p)
		if count() != before+1 {
			t.Errorf("%s: not rejected", what)
		}
	}
}
