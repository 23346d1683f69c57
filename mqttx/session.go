package mqttx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/sunoye/sunoye/rooms"
)

var _ rooms.Session = (*session)(nil)

// session is one room's Paho client and the two goroutines that keep the
// domain's callbacks off Paho's: one calls Deliver, the other OnConnect and
// OnDisconnect.
type session struct {
	t      *Transport
	cfg    rooms.SessionConfig
	log    *slog.Logger
	client mqtt.Client
	q      *queue
	store  *store
	ev     *events

	done      chan struct{} // closed when Close (or a failed Open) begins
	closeOnce sync.Once
	// firstSub receives the outcome of the first subscription, for Open.
	firstSub chan error
	// conns counts connections, so that a connection that has since been
	// replaced does not report itself.
	conns atomic.Uint64
	// subErr is the last subscription error, for Open's.
	subErr atomic.Pointer[error]
	// pending counts the packets taken from Paho and not yet through
	// Deliver: queued, or being delivered. While it is 0 a packet may be
	// delivered on Paho's goroutine (see onMessage).
	pending atomic.Int64
	// inlineEnd is when (Unix ns) the last packet delivered on Paho's
	// goroutine was through Deliver. (Atomic: after a reconnection, Paho's
	// next router goroutine takes over.)
	inlineEnd atomic.Int64
	// trying is the node Paho dials, node the one the session is (or was
	// last) connected to: with a broker list, Paho says which it tries,
	// not which answered.
	trying, node atomic.Pointer[string]
}

func (s *session) lastSubErr() error {
	if p := s.subErr.Load(); p != nil {
		return *p
	}
	return nil
}

func newSession(t *Transport, cfg rooms.SessionConfig) *session {
	return &session{
		t:        t,
		cfg:      cfg,
		log:      t.logger.With("client", cfg.ClientID),
		q:        newQueue(t.cfg.QueueLen, t.cfg.QueueBytes),
		store:    newStore(),
		ev:       newEvents(),
		done:     make(chan struct{}),
		firstSub: make(chan error, 1),
	}
}

// clientOptions are the Paho options of the session's client.
func (s *session) clientOptions() *mqtt.ClientOptions {
	o := s.t.baseOptions(s.cfg.ClientID)
	o.SetCleanSession(false)
	o.SetStore(s.store)
	// Subscriptions are made afresh in onConnect after every connection
	// rather than replayed from Paho's store, which only holds those that
	// were pending when the connection dropped.
	o.SetResumeSubs(false)
	if w := s.cfg.Will; w != nil {
		o.SetBinaryWill(w.Topic, slices.Clone(w.Payload), 1, w.Retained)
	}
	// The handler is in place before Connect: a persistent session's
	// queued messages arrive right after CONNACK, before any SUBSCRIBE.
	o.SetDefaultPublishHandler(s.onMessage)
	o.SetOrderMatters(true) // one router goroutine, in order
	// A message is acknowledged once Deliver has handled it (see
	// onMessage), not as Paho reads it: what is not handled when the
	// daemon stops, crashes or loses the connection, the broker sends
	// again.
	o.SetAutoAckDisabled(true)
	o.SetOnConnectHandler(s.onConnect)
	o.SetConnectionLostHandler(s.onConnectionLost)
	o.SetReconnectingHandler(func(mqtt.Client, *mqtt.ClientOptions) {
		s.log.Debug("reconnecting")
	})
	// Called before each node is dialled, on the goroutine that then
	// connects: the last one before onConnect is the one that answered.
	o.SetConnectionNotificationHandler(func(_ mqtt.Client, n mqtt.ConnectionNotification) {
		if b, ok := n.(mqtt.ConnectionNotificationBroker); ok && b.Broker != nil {
			u := b.Broker.String() // the dial URL: no user information
			s.trying.Store(&u)
		}
	})
	return o
}

// Node returns the URL of the broker node the session is connected to,
// or was last: with a list of nodes, the one that answered.
func (s *session) Node() string {
	if p := s.node.Load(); p != nil {
		return *p
	}
	return ""
}

// start starts the delivery and event goroutines; they end when done is
// closed.
func (s *session) start() {
	go s.deliverLoop()
	go s.ev.run(s.done)
}

func (s *session) closed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// onMessage is Paho's message handler. It runs on Paho's router goroutine
// (one, in order: SetOrderMatters). With DeliverInline, a packet that
// comes while nothing is queued or being delivered, and not right behind
// one it delivered (burstGap), it delivers there and then, marked Inline:
// a chat's lone message is handled with no goroutine hand-off. Any other
// it queues, with its acknowledgement, for deliverLoop; when the queue is
// full it waits, which holds up the broker rather than dropping anything
// (see queue).
func (s *session) onMessage(_ mqtt.Client, m mqtt.Message) {
	if s.closed() {
		return // not acknowledged: the broker sends it to the next session
	}
	// Paho allocates each packet's payload afresh: no copy is needed.
	p := rooms.Packet{Topic: m.Topic(), Payload: m.Payload(), Retained: m.Retained()}
	if !s.cfg.DeliverInline {
		s.q.put(item{p: p, ack: m.Ack}, s.done)
		return
	}
	if s.pending.CompareAndSwap(0, 1) {
		// Nothing queued, nothing in Deliver: deliverLoop is idle, and only
		// this goroutine queues, so nothing can overtake this packet.
		if time.Now().UnixNano()-s.inlineEnd.Load() > int64(burstGap) {
			p.Inline = true
			s.cfg.Deliver(p, m.Ack)
			s.inlineEnd.Store(time.Now().UnixNano())
			s.pending.Add(-1)
			return
		}
		// Paho had it waiting while we delivered the last one: a burst,
		// for deliverLoop (and the receiver's pipeline) to take.
	} else {
		s.pending.Add(1)
	}
	if !s.q.put(item{p: p, ack: m.Ack}, s.done) {
		s.pending.Add(-1)
	}
}

// burstGap: a packet that reaches onMessage sooner than this after the
// last inline delivery ended was waiting in Paho behind it (reading the
// next one off the connection takes longer): it and the ones behind it go
// through the queue, so that a burst is not handled one packet at a time
// on Paho's goroutine. Either way is correct; this only picks the faster.
const burstGap = 20 * time.Microsecond

// deliverLoop calls Deliver for each queued packet, in order, with the
// packet's acknowledgement.
func (s *session) deliverLoop() {
	for {
		select {
		case <-s.done:
			return
		case it := <-s.q.ch:
			s.q.taken(it)
			if s.closed() {
				return
			}
			it.p.Queued = len(s.q.ch)
			s.cfg.Deliver(it.p, it.ack)
			if s.cfg.DeliverInline {
				s.pending.Add(-1)
			}
		}
	}
}

// onConnect runs, on a goroutine Paho starts for it, after every
// successful connection. The broker may have lost the session (a broker
// restarted without persistence), so the filters are subscribed every
// time; OnConnect follows once they are acknowledged.
func (s *session) onConnect(c mqtt.Client) {
	n := s.conns.Add(1)
	if node := s.trying.Load(); node != nil {
		if old := s.node.Swap(node); old != nil && *old != *node {
			s.log.Info("moved to another broker node", "from", *old, "to", *node)
		}
	}
	for {
		if s.closed() {
			return
		}
		err := s.subscribe(c)
		if err == nil {
			break
		}
		s.subErr.Store(&err)
		if errors.Is(err, ErrNotAuthorized) {
			s.log.Error("broker refused the subscriptions", "err", err)
			s.reportFirst(err)
			return
		}
		if !c.IsConnectionOpen() || s.conns.Load() != n {
			s.log.Debug("connection lost while subscribing; the next connection subscribes again", "err", err)
			return
		}
		s.log.Warn("subscribe failed; retrying", "err", err)
		select {
		case <-s.done:
			return
		case <-time.After(time.Second):
		}
	}
	if s.conns.Load() != n {
		return // a newer connection reports itself
	}
	s.log.Info("connected", "connection", n, "node", s.Node())
	s.reportFirst(nil)
	s.ev.post(s.cfg.OnConnect)
}

// reportFirst hands Open the outcome of the first subscription; later ones
// find the channel full or unread, and are not reported.
func (s *session) reportFirst(err error) {
	select {
	case s.firstSub <- err:
	default:
	}
}

// subscribe subscribes the filters at QoS 1 and waits for the SUBACK.
func (s *session) subscribe(c mqtt.Client) error {
	if len(s.cfg.Filters) == 0 {
		return nil
	}
	filters := make(map[string]byte, len(s.cfg.Filters))
	for _, f := range s.cfg.Filters {
		filters[f] = 1
	}
	tok := c.SubscribeMultiple(filters, nil) // nil: the default handler gets the messages
	if err := s.wait(context.Background(), tok); err != nil {
		return err
	}
	st, ok := tok.(*mqtt.SubscribeToken)
	if !ok {
		return nil
	}
	for f, code := range st.Result() {
		if code == 0x80 { // MQTT 3.1.1 SUBACK failure
			return fmt.Errorf("broker %s: subscribe %q: %w", s.t.url.redacted, f, ErrNotAuthorized)
		}
	}
	return nil
}

// wait waits for tok, ctx, Close or ConnectTimeout, whichever comes
// first, and returns tok's error if tok completed.
func (s *session) wait(ctx context.Context, tok mqtt.Token) error {
	timer := time.NewTimer(s.t.cfg.ConnectTimeout)
	defer timer.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return ErrClosed
	case <-timer.C:
		return fmt.Errorf("broker %s: no answer within %v", s.t.url.redacted, s.t.cfg.ConnectTimeout)
	}
}

// onConnectionLost is Paho's connection-lost handler; Paho reconnects by
// itself afterwards.
func (s *session) onConnectionLost(_ mqtt.Client, err error) {
	if s.closed() {
		return
	}
	s.log.Warn("connection lost; reconnecting", "err", err)
	if f := s.cfg.OnDisconnect; f != nil {
		s.ev.post(func() { f(err) })
	}
}

// Publish sends p with QoS 1 and waits for the broker's PUBACK, ctx or
// Close. While the connection is down, Paho keeps the message and sends it
// after reconnecting; an error from ctx does not withdraw it. A packet
// larger than MaxPacketSize is refused with rooms.ErrTooLong.
func (s *session) Publish(ctx context.Context, p rooms.Packet) error {
	if err := checkTopic(p.Topic, false); err != nil {
		return s.publishError("", false, err)
	}
	if n := packetSize(p); n > MaxPacketSize {
		// A broker that refuses a packet closes the connection, and Paho
		// would resend it after every reconnection, for ever.
		return s.publishError(p.Topic, false, fmt.Errorf("%w: a %d-byte packet exceeds the %d bytes the transport sends",
			rooms.ErrTooLong, n, MaxPacketSize))
	}
	closed := func() error { return s.publishError(p.Topic, false, ErrClosed) }
	queued := func() error {
		return s.publishError(p.Topic, true, fmt.Errorf("%w (the message stays queued for the next connection)", ctx.Err()))
	}
	if s.closed() {
		return closed()
	}
	if err := ctx.Err(); err != nil {
		return s.publishError(p.Topic, false, err)
	}
	// Paho keeps the slice until the broker acknowledges it, maybe after a
	// reconnection: a copy leaves the caller free to reuse its buffer.
	tok := s.client.Publish(p.Topic, 1, p.Retained, slices.Clone(p.Payload))
	select {
	case <-tok.Done():
		err := tok.Error()
		if err == nil {
			return nil
		}
		if s.closed() {
			return closed()
		}
		// Written to a connection that had just broken: Paho reports the
		// write error but keeps the message, and resends it after
		// reconnecting. Wait for that acknowledgement.
		if pt, ok := tok.(*mqtt.PublishToken); ok {
			if gone, ok := s.store.outgoing(pt.MessageID()); ok {
				s.log.Debug("publish interrupted; waiting for the resend", "err", err)
				select {
				case <-gone:
					return nil
				case <-ctx.Done():
					return queued()
				case <-s.done:
					return closed()
				}
			}
		}
		return s.publishError(p.Topic, true, err)
	case <-ctx.Done():
		return queued()
	case <-s.done:
		return closed()
	}
}

// publishError is an error of Publish: "mqttx: publish to TOPIC: ERR",
// naming the broker ("… on broker URL", its password removed) once the
// packet was handed to it. topic is "" when it is not fit to print.
func (s *session) publishError(topic string, onBroker bool, err error) error {
	what := "mqttx: publish"
	if topic != "" {
		what += " to " + topic
	}
	if onBroker {
		what += " on broker " + s.t.url.redacted
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Connected reports whether the connection is up right now. (Paho's
// IsConnected also says true while it is reconnecting.)
func (s *session) Connected() bool {
	return !s.closed() && s.client.IsConnectionOpen()
}

// Waits is the number of times the session held up the broker because
// Deliver was behind: the queue held QueueLen packets or QueueBytes bytes.
func (s *session) Waits() uint64 { return s.q.waits.Load() }

// Close ends the session; only the first call does anything. It
// disconnects cleanly, so the broker does not publish the Will.
//
// Without forget, the broker keeps the session: subscriptions, and the
// messages that arrive until a session with the same client id connects
// again. With forget, Close unsubscribes, disconnects, then connects once
// more with a clean session to make the broker discard it; if the
// connection was down, it first waits (within ctx) for a reconnection
// attempt under way to end, and it fails if the broker cannot be reached.
//
// No Deliver call starts after Close returns, but one under way may still
// be running (so Deliver may itself call Close). Packets still queued for
// Deliver, or not yet handled, are not acknowledged: the broker sends them
// again to the next session with this client id (without forget).
func (s *session) Close(ctx context.Context, forget bool) error {
	first := false
	s.closeOnce.Do(func() {
		first = true
		close(s.done)
	})
	if !first {
		return nil
	}
	var errs []error
	if forget && s.client.IsConnectionOpen() && len(s.cfg.Filters) > 0 {
		tok := s.client.Unsubscribe(s.cfg.Filters...)
		if err := waitToken(ctx, tok, s.t.cfg.ConnectTimeout); err != nil {
			errs = append(errs, fmt.Errorf("unsubscribe: %w", err))
		}
	}
	if s.client.IsConnectionOpen() {
		s.client.Disconnect(quiesce(ctx)) // returns once DISCONNECT is written
	} else {
		// Paho's Disconnect waits for a reconnection attempt under way to
		// end (dial timeout, back-off) before it settles, and returns after
		// its quiesce time whatever happened: nothing is gained by waiting.
		go s.client.Disconnect(1000)
	}
	if forget {
		// The session must be gone from Paho before the clean connection,
		// or a reconnection still under way could bring it back.
		if err := s.waitDown(ctx); err != nil {
			errs = append(errs, err)
		} else if err := s.t.discard(ctx, s.cfg.ClientID); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("mqttx: close session %q on broker %s: %w", s.cfg.ClientID, s.t.url.redacted, errors.Join(errs...))
	}
	s.log.Info("session closed", "forget", forget)
	return nil
}

// abort ends a session that Open gave up on.
func (s *session) abort() {
	s.closeOnce.Do(func() { close(s.done) })
	if s.client.IsConnectionOpen() {
		s.client.Disconnect(250)
	} else {
		go s.client.Disconnect(250) // waits for the connection attempt to end
	}
}

// waitDown waits until Paho has stopped connecting, reconnecting and
// disconnecting. Paho offers no signal for it, hence the polling.
func (s *session) waitDown(ctx context.Context) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for s.client.IsConnected() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("disconnect: %w", ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

// quiesce is how long Paho's Disconnect may wait for the DISCONNECT packet
// to be written: up to a second, less if ctx says so, but never less than
// minQuiesce, so that a caller out of time still says goodbye to a broker
// that reads (without it the broker publishes the Will). It returns as
// soon as the packet is written.
func quiesce(ctx context.Context) uint {
	d := time.Second
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(dl))
	}
	return uint(max(d, minQuiesce) / time.Millisecond)
}

// minQuiesce is the least time Close gives the DISCONNECT packet.
const minQuiesce = 50 * time.Millisecond

// waitToken waits for tok, ctx or limit and returns tok's error if it
// completed.
func waitToken(ctx context.Context, tok mqtt.Token, limit time.Duration) error {
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return fmt.Errorf("no answer within %v", limit)
	}
}

// packetSize is the size of p's MQTT 3.1.1 PUBLISH packet at QoS 1, as a
// broker's packet size limit counts it: the fixed header's type byte, the
// remaining length (counted as its longest, 4 bytes), the topic with its
// 2-byte length, the packet id and the payload.
func packetSize(p rooms.Packet) int {
	return 1 + 4 + 2 + len(p.Topic) + 2 + len(p.Payload)
}
