package rooms

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// maxSendWait bounds Send for a caller without a deadline.
const maxSendWait = time.Minute

// errStopping: Shutdown has begun; nothing more is written or shown.
var errStopping = errors.New("SunOye is stopping")

// Send publishes text to room id and returns the message as others will
// see it. It returns once the broker has acknowledged the message (QoS 1)
// or ctx ends; in the latter case the message may still go out when the
// connection returns.
func (s *Service) Send(ctx context.Context, id ID, text string) (Message, error) {
	if err := CheckText(text); err != nil {
		return Message{}, fmt.Errorf("send to room %s: %w", id, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		// A caller that would wait forever (an API client without a
		// timeout, a broker that never acknowledges) gets an answer; the
		// message stays queued for the connection either way.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, maxSendWait)
		defer cancel()
	}
	r := s.room(id)
	if r == nil {
		return Message{}, fmt.Errorf("send to room %s: %w", id, ErrNotJoined)
	}
	m := Message{
		ID: newMessageID(), Room: id, Sender: s.me, Name: s.Name(), Text: text,
		Time: time.Now().Truncate(time.Millisecond), Own: true,
	}
	// Number it in our sequence, and note its id before publishing, so
	// that the broker's echo, which may come before the acknowledgement,
	// is not shown a second time in this run.
	run := s.cfg.Run
	if err := s.startOwnRun(r, run); err != nil {
		return Message{}, fmt.Errorf("send to room %s: %w", id, err)
	}
	if r.batching(time.Now()) {
		return s.sendTogether(ctx, r, m, run)
	}
	seq, sess := r.nextOwn(m.ID)
	b := ownBody(m, run, seq)
	payload, err := seal(r.aead, r.topics.messages, s.cfg.Identity, b)
	if err == nil && len(payload) > olderPayloadBytes {
		err = fmt.Errorf("%w: this text takes %d bytes sealed, and a member's older SunOye takes at most %d (fewer characters that JSON escapes, such as < > & and control characters, would fit)",
			ErrTooLong, len(payload), olderPayloadBytes)
	}
	if err != nil {
		r.unsend(m.ID)
		return Message{}, fmt.Errorf("send to room %s: %w", id, err)
	}
	r.sealedOwn(payload, b)

	if err := sess.Publish(ctx, Packet{Topic: r.topics.messages, Payload: payload}); err != nil && !r.unsend(m.ID) {
		// If it still goes out later, its echo goes into the history.
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return Message{}, fmt.Errorf("send to room %s: not yet confirmed by the broker; it will be sent when the connection returns: %w", id, err)
		}
		return Message{}, fmt.Errorf("send to room %s: %w", id, err)
	}
	if err := s.confirmSent(r, m, run, seq); err != nil {
		return Message{}, fmt.Errorf("send to room %s: %w", id, err)
	}
	return m, nil
}

// ownBody is the body of our message m, number seq of run.
func ownBody(m Message, run, seq uint64) body {
	return body{Type: typeMessage, ID: m.ID, Name: m.Name, TS: m.Time.UnixMilli(), Text: m.Text, Run: run, Seq: seq}
}

// confirmSent shows our message m, number seq of run, which the broker
// has confirmed.
func (s *Service) confirmSent(r *room, m Message, run, seq uint64) error {
	// Confirmed: marked, and the mark on disk before it shows, so that
	// its echo, coming again to the next run (after a stop or a crash
	// before the echo was handled), is not shown twice.
	// Under showMu, as a batch of others' messages: Shutdown's last write
	// takes the mark only with the message shown.
	// The event goes out under showMu too: once Shutdown has stopped the
	// showing, every message shown is in the followers' streams (see
	// Service.Stopped).
	s.showMu.RLock()
	r.confirmOwn(s.me, run, seq)
	saved := s.persist()
	if saved {
		r.addOwn(m)
		r.sentOwn(m.ID)
		s.hub.emit(Event{Kind: EventMessage, Room: r.id, Message: &m})
	}
	s.showMu.RUnlock()
	if !saved {
		// Its echo, not acknowledged, shows it at the next start.
		return fmt.Errorf("sent, but %w", errStopping)
	}
	return nil
}

// startOwnRun makes sure run, our number for this start, is on disk as
// the room's newest before anything of it is published.
func (s *Service) startOwnRun(r *room, run uint64) error {
	if !r.beginOwnRun(s.me, run) {
		return nil
	}
	s.showMu.RLock()
	saved := s.persist()
	s.showMu.RUnlock()
	if !saved {
		// Not a word out before the run is on disk: its echo, coming to
		// the next run after a newer run's first send, would pass for a
		// replay and never show.
		return fmt.Errorf("not sent: %w", errStopping)
	}
	r.ownRunSaved(run)
	return nil
}

func newMessageID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("rooms: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b)
}
