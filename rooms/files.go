package rooms

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Files. A file travels as a message like any other (type "file"): its
// header, signed and numbered in its sender's sequence, names the file and
// binds its size, its number of pieces and its SHA-256; then its pieces
// (type "piece"), each signed by the same sender, small enough for brokers
// that cap packets at 256 KiB. A receiver puts them together in memory,
// checks size, count and hash, and only then shows the header's message,
// through the path every message takes (marks saved first, acknowledged
// once shown). Pieces are acknowledged as they are taken in: a broker
// holds only a small window of unacknowledged messages per client, and a
// file is more pieces than that; pieces a receiver lost (taken in before
// a crash) it asks its sender for again (filewant.go). See
// docs/protocol.md.
const (
	// MaxFileBytes is the largest file that can be sent.
	MaxFileBytes = 8 << 20
	// pieceBytes is the size of every piece but the last: raw after the
	// body's JSON, the sealed payload with its topic and MQTT header
	// stays under 161 KiB, well within 256 KiB.
	pieceBytes = 160 << 10
	// maxPieces is how many pieces a file of MaxFileBytes takes.
	maxPieces = (MaxFileBytes + pieceBytes - 1) / pieceBytes
	// maxPiecePayload bounds a piece's payload as a receiver opens it.
	maxPiecePayload = pieceBytes + 4<<10
	// MaxFileNameBytes bounds a file's name.
	MaxFileNameBytes = 255
	// DefaultFileBudget is how many bytes of files a room keeps, by
	// default: beyond it the oldest files' bytes go (their messages stay,
	// saying the file is no longer kept).
	DefaultFileBudget = 32 << 20
	// assemblyBudget bounds the bytes that the files being put together
	// in a room may announce, together; maxAssembling and
	// maxAssemblingPerSender bound how many there are. A file announced
	// beyond them is refused. The held acknowledgements of their headers
	// stay well within a broker's window of unacknowledged messages
	// (mosquitto's max_inflight_messages is 20).
	assemblyBudget         = 2 * MaxFileBytes
	maxAssembling          = 6
	maxAssemblingPerSender = 2
	// pieceDeadline is how long a file being put together waits for its
	// next piece before it is dropped; fileDeadline how long it may take
	// in all (a sender trickling pieces keeps no slot for long).
	pieceDeadline = 30 * time.Second
	fileDeadline  = 2 * time.Minute
)

// Errors of files.
var (
	// ErrTooLarge: a file larger than MaxFileBytes.
	ErrTooLarge = errors.New("file too large")
	// ErrNoFile: no such file in the room's history.
	ErrNoFile = errors.New("no such file")
	// ErrFileGone: the file's message is there, its bytes no longer
	// (the room's file budget let them go).
	ErrFileGone = errors.New("file no longer kept")
)

// Reasons a file is refused.
var (
	errPieceOrphan = errors.New("piece of no file being put together")
	errPieceBad    = errors.New("piece out of place or of the wrong size")
	errFileHash    = errors.New("file does not match its hash")
	errFileBusy    = errors.New("too many files being put together")
)

// FileInfo describes a message's file.
type FileInfo struct {
	Name string
	// Type is the content type sniffed from the file's bytes by the
	// receiver (never the sender's word): image/png, image/jpeg,
	// image/gif, image/webp, or application/octet-stream.
	Type   string
	Size   int64
	SHA256 string // hex
}

// IsImage reports whether the file is an image the window may show inline.
func (f FileInfo) IsImage() bool { return strings.HasPrefix(f.Type, "image/") }

// fileMeta is a file header's description of its file on the wire.
type fileMeta struct {
	Name   string `json:"name"`
	Type   string `json:"type,omitempty"` // the sender's sniffing; receivers sniff again
	Size   int64  `json:"size"`
	Pieces int    `json:"pieces"`
	SHA256 string `json:"sha256"`
}

// filePiece is one piece of a file: its place (from 0) and bytes. The
// bytes travel raw after the body's JSON, which binds them by their
// SHA-256 (see seal).
type filePiece struct {
	Index  int    `json:"index"`
	SHA256 string `json:"sha256"`
	Data   []byte `json:"-"`
}

// pieceSum is the hex SHA-256 of a piece's bytes.
func pieceSum(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func (f *fileMeta) validate() error {
	if err := CheckFileName(f.Name); err != nil {
		return err
	}
	if f.Size <= 0 || f.Size > MaxFileBytes {
		return fmt.Errorf("file size %d out of bounds", f.Size)
	}
	if f.Pieces != piecesOf(f.Size) {
		return fmt.Errorf("%d pieces for %d bytes", f.Pieces, f.Size)
	}
	if h, err := hex.DecodeString(f.SHA256); err != nil || len(h) != sha256.Size {
		return errors.New("bad file hash")
	}
	return nil
}

func piecesOf(size int64) int { return int((size + pieceBytes - 1) / pieceBytes) }

// pieceLen is the size of piece i of a file of size bytes.
func pieceLen(size int64, i int) int {
	return int(min(pieceBytes, size-int64(i)*pieceBytes))
}

// CheckFileName reports whether name can name a sent file.
func CheckFileName(name string) error {
	switch {
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: file name is not valid UTF-8", ErrInvalid)
	case isBlank(name):
		return fmt.Errorf("%w: file name is empty", ErrInvalid)
	case len(name) > MaxFileNameBytes:
		return fmt.Errorf("%w: file name longer than %d bytes", ErrInvalid, MaxFileNameBytes)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: file name contains control characters", ErrInvalid)
		}
	}
	return nil
}

// SafeFileName returns name as a file name that is safe to create in a
// directory: its last path element, without leading dots, path
// separators or characters that shells and file systems treat specially;
// "file" if nothing is left.
func SafeFileName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = filepath.Base("/" + name)
	name = strings.Map(func(r rune) rune {
		switch {
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0:
			return -1
		case strings.ContainsRune(`/\:*?"<>|`, r):
			return '_'
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ".")
	if name == "" {
		return "file"
	}
	return name
}

// SniffType returns the content type of data: one of the image types a
// window shows inline (PNG, JPEG, GIF, WebP), told by their magic bytes
// whatever the sender says, or application/octet-stream. SVG is never an
// image here: it can carry script.
func SniffType(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")):
		return "image/jpeg"
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return "image/gif"
	case len(data) >= 16 && string(data[:4]) == "RIFF" && string(data[8:15]) == "WEBPVP8":
		return "image/webp"
	}
	return "application/octet-stream"
}

// fileKey names a file being put together: its sender and its message id.
type fileKey struct {
	sender MemberID
	id     string
}

// assembly is a file being put together.
type assembly struct {
	header  body
	handled func() // the header's acknowledgement, held until it is shown or dropped
	pieces  [][]byte
	have    int
	begun   time.Time
	last    time.Time
	wanted  time.Time // when its missing pieces were last asked for
}

// roomFiles is a room's files: those kept with its history, within a
// budget, and those being put together. It lives in memory only.
type roomFiles struct {
	budget  int64
	sending chan struct{} // a token while one of our files is sent

	mu        sync.Mutex
	kept      map[string][]byte // by message id
	order     []string          // kept ids, oldest first
	keptBytes int64
	gone      map[string]bool // ids whose bytes the budget let go
	building  map[fileKey]*assembly
	announced int64 // bytes the files being built announce
	dropped   uint64
	closed    bool
	answered  []answer // the wants answered within wantEvery
}

func newRoomFiles(budget int64) *roomFiles {
	if budget <= 0 {
		budget = DefaultFileBudget
	}
	return &roomFiles{budget: budget, sending: make(chan struct{}, 1), kept: make(map[string][]byte), gone: make(map[string]bool), building: make(map[fileKey]*assembly)}
}

// keep stores the bytes of message id's file, letting the oldest files'
// bytes go to stay within the budget.
func (f *roomFiles) keep(id string, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	if _, ok := f.kept[id]; ok {
		return
	}
	for len(f.order) > 0 && f.keptBytes+int64(len(data)) > f.budget {
		old := f.order[0]
		f.order = f.order[1:]
		f.keptBytes -= int64(len(f.kept[old]))
		delete(f.kept, old)
		f.gone[old] = true
	}
	f.kept[id] = data
	f.order = append(f.order, id)
	f.keptBytes += int64(len(data))
}

// get returns the bytes of message id's file.
func (f *roomFiles) get(id string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if b, ok := f.kept[id]; ok {
		return b, nil
	}
	if f.gone[id] {
		return nil, ErrFileGone
	}
	return nil, ErrNoFile
}

// begin starts putting together the file of header b from sender, whose
// acknowledgement is handled, and arms its deadline with expire. It
// refuses a file beyond the room's bounds.
func (f *roomFiles) begin(sender MemberID, b body, handled func(), now time.Time, expire, ask func(fileKey)) error {
	k := fileKey{sender, b.ID}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return errors.New("room left")
	}
	if _, dup := f.building[k]; dup {
		// The broker sent the header again (a reconnection): the first
		// copy's acknowledgement stands for both.
		handled()
		return nil
	}
	mine := 0
	for o := range f.building {
		if o.sender == sender {
			mine++
		}
	}
	if len(f.building) >= maxAssembling || mine >= maxAssemblingPerSender || f.announced+b.File.Size > assemblyBudget {
		f.dropped++
		return errFileBusy
	}
	f.building[k] = &assembly{header: b, handled: handled, pieces: make([][]byte, b.File.Pieces), begun: now, last: now}
	f.announced += b.File.Size
	time.AfterFunc(pieceDeadline, func() { expire(k) })
	time.AfterFunc(wantAfter, func() { ask(k) })
	return nil
}

// piece takes piece b of sender's file. When the file is complete and
// checked, it returns its header and bytes, with the header's
// acknowledgement; a piece that breaks a rule drops the whole file.
func (f *roomFiles) piece(sender MemberID, b body, now time.Time) (done *assembly, data []byte, err error) {
	k := fileKey{sender, b.ID}
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.building[k]
	if a == nil {
		return nil, nil, errPieceOrphan
	}
	size, p := a.header.File.Size, b.Piece
	if p.Index >= len(a.pieces) || len(p.Data) != pieceLen(size, p.Index) {
		f.dropLocked(k, a)
		return nil, nil, errPieceBad
	}
	if a.pieces[p.Index] != nil {
		return nil, nil, nil // a redelivery; signed by the sender, so the same bytes
	}
	a.pieces[p.Index] = p.Data
	a.have++
	a.last = now
	if a.have < len(a.pieces) {
		return nil, nil, nil
	}
	delete(f.building, k)
	f.announced -= size
	data = make([]byte, 0, size)
	for _, p := range a.pieces {
		data = append(data, p...)
	}
	a.pieces = nil
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != a.header.File.SHA256 {
		f.dropped++
		a.handled()
		return nil, nil, errFileHash
	}
	return a, data, nil
}

// dropLocked drops a file being put together, acknowledging its header:
// it is refused for good.
func (f *roomFiles) dropLocked(k fileKey, a *assembly) {
	delete(f.building, k)
	f.announced -= a.header.File.Size
	f.dropped++
	a.handled()
}

// expire drops file k if its pieces stopped coming, or it has taken too
// long, and reports whether it did; otherwise it returns when to look
// again.
func (f *roomFiles) expire(k fileKey, now time.Time) (dropped bool, again time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.building[k]
	if a == nil {
		return false, 0
	}
	if wait := min(a.last.Add(pieceDeadline).Sub(now), a.begun.Add(fileDeadline).Sub(now)); wait > 0 {
		return false, wait
	}
	f.dropLocked(k, a)
	return true, 0
}

// isBuilding reports whether sender's file id is being put together.
func (f *roomFiles) isBuilding(sender MemberID, id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.building[fileKey{sender, id}]
	return ok
}

// droppedFiles counts the files refused or dropped unfinished.
func (f *roomFiles) droppedFiles() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dropped
}

// close drops everything: the room was left (its broker session, and
// what it would send again, discarded).
func (f *roomFiles) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	clear(f.building)
	f.announced = 0
	clear(f.kept)
	f.order, f.keptBytes = nil, 0
}

// info is what a message shows of its file; nil for none.
func (f *fileMeta) info() *FileInfo {
	if f == nil {
		return nil
	}
	return &FileInfo{Name: f.Name, Type: f.Type, Size: f.Size, SHA256: f.SHA256}
}

// sendTurn waits until no other file of ours is being sent to the room:
// a receiver puts together at most maxAssemblingPerSender of a sender's
// files at once. release ends the turn.
func (f *roomFiles) sendTurn(ctx context.Context) (release func(), err error) {
	select {
	case f.sending <- struct{}{}:
		return func() { <-f.sending }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// noteText is what a notification says of message m: its text, and the
// name of its file if it has one.
func noteText(m Message) string {
	if m.File == nil {
		return m.Text
	}
	s := "File: " + m.File.Name
	if m.File.IsImage() {
		s = "Image: " + m.File.Name
	}
	if m.Text != "" {
		s = m.Text + "\n" + s
	}
	return s
}
