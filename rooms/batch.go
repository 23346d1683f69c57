package rooms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"
)

// Messages sent together. A message costs its sender a signature and its
// receivers a verification, the most of what SunOye adds to MQTT, and
// every packet costs the broker and both ends its round of MQTT. When
// several messages of a room are sent at once — a script, a paste of many
// lines, the windows and the CLI together — those that come while one is
// on its way to the broker go out together, next: one payload, sealed and signed once, of up to
// maxBatch messages and 16 KiB. Each keeps its own id, place in
// its sender's sequence, and everything else a lone message has; a
// receiver opens the batch once and handles its messages one by one, in
// order, as lone ones (de-duplication, marks, history), and acknowledges
// the packet once all are shown. A lone message goes out alone, as
// before, with no wait: a batch forms only behind a message on its way.
// (While the broker is unreachable, the messages behind the one waiting
// for it wait too; one whose caller gives up before its turn is not sent,
// and its caller is told so.)
//
// Batches go only to rooms whose every present member has said, in its
// presence, that it opens them (body.Batches): an older daemon would
// refuse one as malformed.

// maxBatch bounds the messages of a batch.
const maxBatch = 64

// batchBudget is what the JSON of a batch's messages may take: with the
// framing and the batch's own fields, a batch stays within 16 KiB (a
// message alone may take more, see MaxPayloadBytes).
const batchBudget = 16*1024 - 1024

// innerEstimate bounds the JSON of one message of a batch beyond its
// text and name: its type, id, times and numbers, and a comma.
const innerEstimate = 192

// outgoing is a message waiting in its room's outbox.
type outgoing struct {
	m Message
	// ready gets one signal: the message was sealed (sent is set) or its
	// caller is to seal the next batch (lead).
	ready chan struct{}
	state outgoingState // under the outbox's lock
	// Set by the sealer before ready is signalled.
	seq  uint64
	sent *sending
}

type outgoingState int

const (
	queued outgoingState = iota
	leading
	taken
)

// sending is a payload being published: done is closed when the broker
// has it (err nil) or the publish ended otherwise.
type sending struct {
	done chan struct{}
	err  error
}

// outbox is a room's messages waiting to be sealed. One caller at a time
// seals: it takes the messages at the head of the queue, and once they
// are sealed hands the sealing over to the next message waiting, if any —
// at once while fewer than maxOnTheWay payloads are on their way to the
// broker, else when one of those arrives.
type outbox struct {
	mu      sync.Mutex
	queue   []*outgoing
	sealing bool // a caller seals, or the sealing waits (parked); without either the queue is empty
	onWay   int  // payloads sealed and not yet taken by the broker
	parked  bool // the sealing waits for one of them
}

// maxOnTheWay bounds a room's payloads on their way to the broker, from
// the outbox: two, so that one is sealed while another travels, and the
// messages sent meanwhile gather for the next.
const maxOnTheWay = 2

// add queues o, and reports whether its caller seals next (no one does).
func (b *outbox) add(o *outgoing) (lead bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.queue = append(b.queue, o)
	if b.sealing {
		return false
	}
	b.sealing = true
	o.state = leading
	return true
}

// withdraw takes o back, if it still waits to be sealed and no one asked
// its caller to seal: it will not be sent.
func (b *outbox) withdraw(o *outgoing) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if o.state != queued {
		return false
	}
	for i, q := range b.queue {
		if q == o {
			b.queue = append(b.queue[:i], b.queue[i+1:]...)
			break
		}
	}
	return true
}

// take takes the messages at the head of the queue that fit in one
// payload (at least one, the leader's, which is at the head).
func (b *outbox) take(name string) []*outgoing {
	b.mu.Lock()
	defer b.mu.Unlock()
	budget := batchBudget - jsonLen(name)
	n := 0
	for n < len(b.queue) && n < maxBatch {
		cost := innerEstimate + jsonLen(b.queue[n].m.Name) + jsonLen(b.queue[n].m.Text)
		if n > 0 && cost > budget {
			break
		}
		budget -= cost
		n++
	}
	items := make([]*outgoing, n)
	copy(items, b.queue)
	for _, o := range items {
		o.state = taken
	}
	b.queue = append(b.queue[:0], b.queue[n:]...)
	return items
}

// waiting returns how many messages wait to be sealed.
func (b *outbox) waiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}

// sealed records a payload sealed and on its way, and hands the sealing
// over unless maxOnTheWay are.
func (b *outbox) sealed() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.onWay++
	if b.onWay >= maxOnTheWay {
		b.parked = true
		return
	}
	b.handOverLocked()
}

// arrived records a payload taken by the broker (or given up), and hands
// the sealing over if it waited for that.
func (b *outbox) arrived() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.onWay--
	if b.parked {
		b.parked = false
		b.handOverLocked()
	}
}

// handOver asks the caller of the oldest waiting message to seal next,
// or ends the sealing if none waits.
func (b *outbox) handOver() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.handOverLocked()
}

func (b *outbox) handOverLocked() {
	if len(b.queue) == 0 {
		b.sealing = false
		return
	}
	next := b.queue[0]
	next.state = leading
	next.ready <- struct{}{}
}

// sendTogether sends m, numbered in run, through r's outbox: with the
// messages that wait beside it, if any (see the top of this file).
func (s *Service) sendTogether(ctx context.Context, r *room, m Message, run uint64) (Message, error) {
	o := &outgoing{m: m, ready: make(chan struct{}, 1)}
	if !r.out.add(o) {
		select {
		case <-o.ready:
		case <-ctx.Done():
			if r.out.withdraw(o) {
				return Message{}, fmt.Errorf("send to room %s: not sent: %w", r.id, ctx.Err())
			}
			<-o.ready // sealed meanwhile, or ours to seal
		}
	}
	if o.state == leading { // ours alone to read: no one else changes it now
		s.sealNext(ctx, r, run)
	}
	select {
	case <-o.sent.done:
	case <-ctx.Done():
	}
	select {
	case <-o.sent.done:
		if o.sent.err == nil {
			break
		}
		if !r.unsend(m.ID) {
			if errors.Is(o.sent.err, context.DeadlineExceeded) || errors.Is(o.sent.err, context.Canceled) {
				return Message{}, fmt.Errorf("send to room %s: not yet confirmed by the broker; it will be sent when the connection returns: %w", r.id, o.sent.err)
			}
			return Message{}, fmt.Errorf("send to room %s: %w", r.id, o.sent.err)
		}
	default:
		// Still being published: it goes out when the connection
		// returns, and its echo then shows it.
		if !r.unsend(m.ID) {
			return Message{}, fmt.Errorf("send to room %s: not yet confirmed by the broker; it will be sent when the connection returns: %w", r.id, ctx.Err())
		}
	}
	if err := s.confirmSent(r, m, run, o.seq); err != nil {
		return Message{}, fmt.Errorf("send to room %s: %w", r.id, err)
	}
	return m, nil
}

// sealNext seals the messages at the head of r's outbox, the caller's
// first among them, into one payload, and publishes it. It hands the
// sealing over once the payload is sealed if fewer than maxOnTheWay are
// on their way, else once one has reached the broker (or its publish has
// ended otherwise): the messages sent meanwhile go together in the next
// payload, as a database commits together the transactions that came
// while it wrote the last (group commit). A lone message is published on the caller's
// goroutine, bounded by its ctx, as Send always did; a batch outlives its
// sealer's ctx (the others in it have their own), bounded by maxSendWait,
// and so does a lone message whose caller gave up as it was asked to
// seal: it was numbered, and goes out as its error says.
func (s *Service) sealNext(ctx context.Context, r *room, run uint64) {
	name := s.Name()
	items := r.out.take(name)
	sent := &sending{done: make(chan struct{})}
	var (
		b    body
		sess Session
	)
	bodies := make([]body, len(items))
	for i, o := range items {
		o.seq, sess = r.nextOwn(o.m.ID)
		o.sent = sent
		bodies[i] = ownBody(o.m, run, o.seq)
	}
	var err error
	if len(items) == 1 {
		b = bodies[0]
	} else {
		b = body{Type: typeBatch, Name: name, TS: time.Now().UnixMilli(), Msgs: make([]json.RawMessage, len(bodies))}
		for i, ib := range bodies {
			if b.Msgs[i], err = json.Marshal(ib); err != nil {
				break
			}
		}
	}
	var payload []byte
	if err == nil {
		payload, err = seal(r.aead, r.topics.messages, s.cfg.Identity, b)
	}
	if err == nil {
		if b.Type == typeBatch {
			b.Msgs, b.batch = nil, bodies
			s.log.Debug("messages sent together", "room", r.id, "messages", len(bodies), "bytes", len(payload))
		}
		r.sealedOwn(payload, b)
	}
	for _, o := range items[1:] {
		o.ready <- struct{}{}
	}
	if err != nil {
		sent.err = err
		close(sent.done)
		r.out.handOver()
		return
	}
	r.out.sealed()
	if len(items) == 1 && ctx.Err() == nil {
		sent.err = sess.Publish(ctx, Packet{Topic: r.topics.messages, Payload: payload})
		close(sent.done)
		r.out.arrived()
		return
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), maxSendWait)
	go func() {
		defer cancel()
		sent.err = sess.Publish(pctx, Packet{Topic: r.topics.messages, Payload: payload})
		close(sent.done)
		r.out.arrived()
	}()
}

// openBatch opens the messages of a batch.
func openBatch(raws []json.RawMessage) ([]body, error) {
	out := make([]body, len(raws))
	for i, raw := range raws {
		var b body
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, fmt.Errorf("message %d of a batch: %v", i+1, err)
		}
		if b.Type != typeMessage {
			return nil, fmt.Errorf("message %d of a batch: a %q body", i+1, b.Type)
		}
		if err := b.validate(); err != nil {
			return nil, fmt.Errorf("message %d of a batch: %v", i+1, err)
		}
		out[i] = b
	}
	return out, nil
}

// jsonLen bounds the length of s as a JSON string, quotes included, as
// encoding/json writes it (which escapes <, > and & too).
func jsonLen(s string) int {
	n := 2
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			n += 2
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			n += 6
		case c < utf8.RuneSelf:
			n++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == '\u2028' || r == '\u2029' || r == utf8.RuneError {
				n += 6
			} else {
				n += size
			}
			i += size
			continue
		}
		i++
	}
	return n
}
