package rooms

import (
	"context"
	"slices"
	"time"
)

// Asking a file's pieces again. A receiver acknowledges a file's pieces as
// it takes them in, since a file is more pieces than a broker's window of
// unacknowledged messages; its header's acknowledgement waits until the
// file is shown. A receiver that stops or crashes in the middle of a file
// therefore gets the header again at its next start, but not the pieces
// it had taken: they were in its memory only. And a piece can be lost on
// the way otherwise (a broker that drops messages of a full queue). So a
// receiver whose file has stopped growing asks its sender for what is
// missing — a "want", sealed and signed on the message topic like
// everything else — and the sender, which keeps the bytes of the files it
// sent, publishes those pieces again: for each member at most once per
// file every wantEvery, and at most maxAnswers times every wantEvery in a
// room, whoever asks (a member with many identities included).

const (
	// wantAfter is how long a file being put together waits for its next
	// piece before its receiver asks for the missing ones; wantEvery, how
	// long before it asks again, and how often a sender answers in a
	// room.
	wantAfter  = 3 * time.Second
	wantEvery  = 10 * time.Second
	maxAnswers = 4
)

// wantDue returns the missing pieces of file k, if its pieces have
// stopped coming for wantAfter and none were asked for within wantEvery,
// and when to look again; ok is false once the file is no longer being
// put together.
func (f *roomFiles) wantDue(k fileKey, now time.Time) (header body, missing []int, again time.Duration, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.building[k]
	if a == nil {
		return body{}, nil, 0, false
	}
	if wait := max(a.last.Add(wantAfter).Sub(now), a.wanted.Add(wantEvery).Sub(now)); wait > 0 {
		return a.header, nil, wait, true
	}
	for i, p := range a.pieces {
		if p == nil {
			missing = append(missing, i)
		}
	}
	a.wanted = now
	return a.header, missing, wantEvery, true
}

// askMissing asks sender k for the pieces of its file that have not come,
// when they have stopped coming, until the file is complete or dropped.
func (s *Service) askMissing(r *room, k fileKey) {
	header, missing, again, ok := r.files.wantDue(k, time.Now())
	if !ok || s.room(r.id) != r {
		return
	}
	time.AfterFunc(again, func() { s.askMissing(r, k) })
	if len(missing) == 0 {
		return
	}
	sess := r.session()
	if sess == nil {
		return
	}
	payload, err := seal(r.aead, r.topics.messages, s.cfg.Identity, body{
		Type: typeWant, ID: header.ID, Name: s.Name(), TS: time.Now().UnixMilli(), Want: missing,
	})
	if err != nil {
		s.log.Error("seal a want", "room", r.id, "err", err)
		return
	}
	s.log.Debug("asking for a file's missing pieces", "room", r.id, "sender", k.sender, "id", k.id, "missing", len(missing))
	ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
	defer cancel()
	if err := sess.Publish(ctx, Packet{Topic: r.topics.messages, Payload: payload}); err != nil {
		s.log.Debug("ask for a file's missing pieces", "room", r.id, "err", err)
	}
}

// onWant answers member's want of pieces of one of our files, if we
// still keep its bytes, within the bounds of answerWant.
func (s *Service) onWant(r *room, member MemberID, b body) {
	m, ok := r.message(b.ID)
	if !ok || !m.Own || m.File == nil {
		return // not ours, or not a file: someone else's to answer
	}
	data, err := r.files.get(b.ID)
	if err != nil {
		return
	}
	header := body{
		Type: typeFile, ID: m.ID, Name: m.Name, TS: m.Time.UnixMilli(),
		File: &fileMeta{Size: int64(len(data)), Pieces: piecesOf(int64(len(data)))},
	}
	want := slices.Compact(slices.Sorted(slices.Values(b.Want)))
	want = slices.DeleteFunc(want, func(i int) bool { return i >= header.File.Pieces })
	sess := r.session()
	if sess == nil || len(want) == 0 || !r.files.answerWant(member, b.ID, time.Now()) {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), maxFileSendWait)
		defer cancel()
		s.log.Debug("sending a file's pieces again", "room", r.id, "id", m.ID, "pieces", len(want))
		if err := s.publishPieces(ctx, r, sess, header, data, want); err != nil {
			s.log.Debug("send a file's pieces again", "room", r.id, "id", m.ID, "err", err)
		}
	}()
}

// answerWant reports whether member's want of file id may be answered
// now, and if so counts it: at most once per member and file, and
// maxAnswers times in the room, every wantEvery.
func (f *roomFiles) answerWant(member MemberID, id string, now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	recent := f.answered[:0]
	for _, a := range f.answered {
		if now.Sub(a.at) < wantEvery {
			recent = append(recent, a)
		}
	}
	f.answered = recent
	if len(recent) >= maxAnswers || slices.ContainsFunc(recent, func(a answer) bool { return a.member == member && a.id == id }) {
		return false
	}
	f.answered = append(f.answered, answer{member: member, id: id, at: now})
	return true
}

// answer is a want answered.
type answer struct {
	member MemberID
	id     string
	at     time.Time
}
