package rooms

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"
)

// maxFileSendWait bounds SendFile for a caller without a deadline.
const maxFileSendWait = 2 * time.Minute

// piecesInFlight is how many pieces of a file a sender has sealed or
// waiting for the broker's acknowledgement at once.
const piecesInFlight = 8

// CheckFile reports whether data can be sent as a file named name, with
// the caption text (which may be empty).
func CheckFile(name string, size int64, text string) error {
	if err := CheckFileName(name); err != nil {
		return err
	}
	switch {
	case size == 0:
		return fmt.Errorf("%w: the file is empty", ErrInvalid)
	case size > MaxFileBytes:
		return fmt.Errorf("%w: %s is %d bytes, at most %d (8 MiB) can be sent", ErrTooLarge, name, size, MaxFileBytes)
	}
	if text != "" {
		return CheckText(text)
	}
	return nil
}

// SendFile publishes data as a file named name to room id, with the
// caption text (which may be empty), and returns its message as others
// will see it. It returns once the broker has acknowledged the file's
// header and every piece, or ctx ends; a file cut short is dropped by
// its receivers (see files.go). A room sends one file at a time.
func (s *Service) SendFile(ctx context.Context, id ID, name string, data []byte, text string) (Message, error) {
	if err := CheckFile(name, int64(len(data)), text); err != nil {
		return Message{}, fmt.Errorf("send file to room %s: %w", id, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, maxFileSendWait)
		defer cancel()
	}
	r := s.room(id)
	if r == nil {
		return Message{}, fmt.Errorf("send file to room %s: %w", id, ErrNotJoined)
	}
	release, err := r.files.sendTurn(ctx)
	if err != nil {
		return Message{}, fmt.Errorf("send file to room %s: waiting for the file before it: %w", id, err)
	}
	defer release()
	sum := sha256.Sum256(data)
	meta := fileMeta{Name: name, Type: SniffType(data), Size: int64(len(data)), Pieces: piecesOf(int64(len(data))), SHA256: hex.EncodeToString(sum[:])}
	m := Message{
		ID: newMessageID(), Room: id, Sender: s.me, Name: s.Name(), Text: text,
		Time: time.Now().Truncate(time.Millisecond), Own: true, File: meta.info(),
	}
	run := s.cfg.Run
	if err := s.startOwnRun(r, run); err != nil {
		return Message{}, fmt.Errorf("send file to room %s: %w", id, err)
	}
	seq, sess := r.nextOwn(m.ID)
	header := body{Type: typeFile, ID: m.ID, Name: m.Name, TS: m.Time.UnixMilli(), Text: text, Run: run, Seq: seq, File: &meta}
	err = s.publishFile(ctx, r, sess, header, data)
	if err != nil {
		if r.unsend(m.ID) {
			// Its header's echo came, but not every piece went out: the
			// receivers drop it, and so do we.
			r.sentOwn(m.ID)
		}
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return Message{}, fmt.Errorf("send file to room %s: not confirmed by the broker in time; what was handed to the connection may still go out when it returns, and the receivers drop the file unless all of it does: %w", id, err)
		}
		return Message{}, fmt.Errorf("send file to room %s: %w", id, err)
	}
	r.files.keep(m.ID, data)
	if err := s.confirmSent(r, m, run, seq); err != nil {
		return Message{}, fmt.Errorf("send file to room %s: %w", id, err)
	}
	return m, nil
}

// publishFile publishes a file's header, then its pieces, a few at a
// time, each once the broker has the header.
func (s *Service) publishFile(ctx context.Context, r *room, sess Session, header body, data []byte) error {
	payload, err := seal(r.aead, r.topics.messages, s.cfg.Identity, header)
	if err != nil {
		return err
	}
	if err := sess.Publish(ctx, Packet{Topic: r.topics.messages, Payload: payload}); err != nil {
		return err
	}
	return s.publishPieces(ctx, r, sess, header, data, nil)
}

// publishPieces publishes the pieces of a file (those of indices, or all
// if nil), a few at a time.
func (s *Service) publishPieces(ctx context.Context, r *room, sess Session, header body, data []byte, indices []int) error {
	if indices == nil {
		for i := range header.File.Pieces {
			indices = append(indices, i)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(piecesInFlight)
	for _, i := range indices {
		g.Go(func() error {
			from := i * pieceBytes
			p, err := seal(r.aead, r.topics.messages, s.cfg.Identity, body{
				Type: typePiece, ID: header.ID, Name: header.Name, TS: header.TS,
				Piece: &filePiece{Index: i, Data: data[from : from+pieceLen(header.File.Size, i)]},
			})
			if err != nil {
				return err
			}
			return sess.Publish(gctx, Packet{Topic: r.topics.messages, Payload: p})
		})
	}
	return g.Wait()
}

// receiveFile takes a file's header or piece b from sender, and calls
// handled once it is handled, unless it returns an error (the caller
// counts it and calls handled). A header's acknowledgement waits until
// its file is shown, or dropped; a piece's comes once it is taken in.
func (s *Service) receiveFile(r *room, sender MemberID, b body, handled func()) error {
	now := time.Now()
	if b.Type == typeFile {
		if r.shownBefore(sender, b) {
			// Our own echo, a redelivery or a replay: decided without its
			// bytes, by the path every message takes.
			s.show(r, sender, b, handled, false)
			return nil
		}
		return r.files.begin(sender, b, handled, now, func(k fileKey) { s.expireFile(r, k) }, func(k fileKey) { s.askMissing(r, k) })
	}
	a, data, err := r.files.piece(sender, b, now)
	switch {
	case errors.Is(err, errPieceOrphan) && (sender == s.me || r.shownBefore(sender, b)):
		// Our own file's echo (we keep our bytes), or a piece of a file
		// shown already (a redelivery, a replay of the whole file).
		handled()
		return nil
	case err != nil:
		return err
	case a != nil:
		fm := *a.header.File
		fm.Type = SniffType(data)
		a.header.File = &fm
		r.files.keep(a.header.ID, data)
		s.show(r, sender, a.header, a.handled, false)
	}
	handled()
	return nil
}

// expireFile drops file k of r if its pieces stopped coming, or looks
// again when they may have.
func (s *Service) expireFile(r *room, k fileKey) {
	dropped, again := r.files.expire(k, time.Now())
	switch {
	case again > 0:
		time.AfterFunc(again, func() { s.expireFile(r, k) })
	case dropped:
		s.log.Debug("file dropped: its pieces stopped coming", "room", r.id, "sender", k.sender, "id", k.id)
	}
}

// File returns the description and the bytes of the file of message msg
// in room id, if the room still keeps them.
func (s *Service) File(id ID, msg string) (FileInfo, []byte, error) {
	r := s.room(id)
	if r == nil {
		return FileInfo{}, nil, fmt.Errorf("room %s: %w", id, ErrNotJoined)
	}
	m, ok := r.message(msg)
	if !ok || m.File == nil {
		return FileInfo{}, nil, fmt.Errorf("room %s, message %s: %w", id, msg, ErrNoFile)
	}
	data, err := r.files.get(msg)
	if err != nil {
		return FileInfo{}, nil, fmt.Errorf("room %s, message %s: %w", id, msg, err)
	}
	return *m.File, data, nil
}
