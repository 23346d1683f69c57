package testenv

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// The names of the Desktop Notifications Specification
// (https://specifications.freedesktop.org/notification-spec/).
const (
	notificationsName  = "org.freedesktop.Notifications"
	notificationsPath  = dbus.ObjectPath("/org/freedesktop/Notifications")
	notificationsIface = "org.freedesktop.Notifications"
)

// dbusCallTimeout bounds every D-Bus call that the helpers make, so that a
// wedged bus fails the test instead of hanging it.
const dbusCallTimeout = 5 * time.Second

// DefaultNotificationCapabilities are what [NotificationServer] advertises
// unless told otherwise: what dunst offers with markup turned off.
var DefaultNotificationCapabilities = []string{"actions", "body"}

// NotifyCall is one org.freedesktop.Notifications.Notify call as the
// server received it.
type NotifyCall struct {
	Sender     string // the caller's unique bus name
	AppName    string
	ReplacesID uint32
	Icon       string
	Summary    string
	Body       string
	Actions    []string       // pairs of action key and label
	Hints      map[string]any // values unwrapped from their variants
	Timeout    int32          // expire_timeout in ms; -1 means the server's default
	ID         uint32         // what the server answered
	Received   time.Time      // when the server received the call
}

// Action returns the label of the action with the given key, and whether
// the call offered it.
func (c NotifyCall) Action(key string) (label string, ok bool) {
	for i := 0; i+1 < len(c.Actions); i += 2 {
		if c.Actions[i] == key {
			return c.Actions[i+1], true
		}
	}
	return "", false
}

// NotificationsOption configures [NotificationServer].
type NotificationsOption func(*notificationsConfig)

type notificationsConfig struct {
	caps       []string
	neverReply bool
}

// NotificationCapabilities sets the capabilities the server advertises,
// for example "actions", "body", "body-markup", "inline-reply".
func NotificationCapabilities(caps ...string) NotificationsOption {
	return func(c *notificationsConfig) { c.caps = slices.Clone(caps) }
}

// NotificationsNeverReply makes a server that owns the name but never
// answers a call, like a notification daemon that hangs: callers must
// bound their calls.
func NotificationsNeverReply() NotificationsOption {
	return func(c *notificationsConfig) { c.neverReply = true }
}

// Notifications is a fake notification server: it implements
// org.freedesktop.Notifications on a bus the way the specification
// describes, records every Notify call, and emits the signals a real
// server emits when the user acts, on the test's command.
//
// Like a real server it handles one call at a time, and a call shows in
// Calls only once the reply to it has been sent: a signal that the test
// has it emit after seeing a call reaches the client after the reply, as
// with a real server.
type Notifications struct {
	t        testing.TB
	cfg      notificationsConfig
	conn     *dbus.Conn
	incoming chan *dbus.Message
	served   chan struct{} // closed when serve returns

	mu      sync.Mutex
	calls   []NotifyCall
	live    map[uint32]bool // notifications on screen: not closed yet
	lastID  uint32
	changed chan struct{} // closed and replaced whenever calls grows
	serving bool          // serve was started
	stopped bool
}

// NotificationServer starts a fake notification server on the bus at
// busAddr (see [SessionBus]) and takes the name
// org.freedesktop.Notifications, failing the test if someone else has it.
// The server stops when the test ends.
func NotificationServer(t testing.TB, busAddr string, opts ...NotificationsOption) *Notifications {
	t.Helper()
	cfg := notificationsConfig{caps: DefaultNotificationCapabilities}
	for _, o := range opts {
		o(&cfg)
	}
	conn, err := dbusConnect(busAddr)
	if err != nil {
		t.Fatalf("testenv: notification server: %v", err)
	}
	s := &Notifications{
		t: t, cfg: cfg, conn: conn,
		// Eavesdropped messages that find the channel full are dropped:
		// room for far more calls than a test makes at once.
		incoming: make(chan *dbus.Message, 4096),
		served:   make(chan struct{}),
		live:     make(map[uint32]bool),
		changed:  make(chan struct{}),
	}
	t.Cleanup(s.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), dbusCallTimeout)
	defer cancel()
	var reply uint32
	err = conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.RequestName", 0,
		notificationsName, uint32(dbus.NameFlagDoNotQueue)).Store(&reply)
	if err != nil {
		t.Fatalf("testenv: notification server: request name: %v", err)
	}
	if dbus.RequestNameReply(reply) != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("testenv: notification server: %s is owned by another connection", notificationsName)
	}
	// From now on every message comes to serve, which answers calls
	// itself instead of letting the library answer them on goroutines of
	// their own, in no particular order with the signals.
	conn.Eavesdrop(s.incoming)
	s.mu.Lock()
	s.serving = true
	s.mu.Unlock()
	go s.serve()
	return s
}

// dbusConnect opens a private, authenticated connection to the bus at
// addr, giving up after dbusCallTimeout.
func dbusConnect(addr string) (*dbus.Conn, error) {
	ctx, cancel := context.WithCancel(context.Background())
	timer := time.AfterFunc(dbusCallTimeout, cancel) // closes the connection under a hung handshake
	conn, err := dbus.Connect(addr, dbus.WithContext(ctx))
	if !timer.Stop() {
		err = fmt.Errorf("connecting to %s: no answer within %v", addr, dbusCallTimeout)
	}
	if err != nil {
		cancel()
		return nil, fmt.Errorf("connecting to %s: %w", addr, err)
	}
	return conn, nil
}

// Calls returns the Notify calls received so far, oldest first.
func (s *Notifications) Calls() []NotifyCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// WaitCalls waits until the server has received at least n Notify calls
// and returns all it has received, oldest first. It fails the test, showing
// the calls so far, if that takes longer than timeout.
func (s *Notifications) WaitCalls(t testing.TB, n int, timeout time.Duration) []NotifyCall {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		calls, changed := slices.Clone(s.calls), s.changed
		s.mu.Unlock()
		if len(calls) >= n {
			return calls
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("testenv: %d Notify calls after %v, want %d: %+v", len(calls), timeout, n, calls)
			return calls
		}
	}
}

// WaitCall waits for the call numbered i (0 is the first) and returns it.
// It fails the test if that takes longer than timeout. Unlike WaitCalls it
// copies nothing but the one call, for benchmarks that make thousands.
func (s *Notifications) WaitCall(t testing.TB, i int, timeout time.Duration) NotifyCall {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		n, changed := len(s.calls), s.changed
		if i < n {
			c := s.calls[i]
			s.mu.Unlock()
			return c
		}
		s.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("testenv: %d Notify calls after %v, want call %d", n, timeout, i)
			return NotifyCall{}
		}
	}
}

// Showing returns the ids of the notifications on screen: sent and neither
// closed by [Notifications.Close] nor by CloseNotification.
func (s *Notifications) Showing() []uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]uint32, 0, len(s.live))
	for id := range s.live {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Invoke emits ActionInvoked(id, action), as a server does when the user
// clicks the notification ("default") or one of its buttons.
func (s *Notifications) Invoke(id uint32, action string) {
	s.emit("ActionInvoked", id, action)
}

// Close closes notification id and emits NotificationClosed(id, reason).
// Reasons: 1 expired, 2 dismissed by the user, 3 closed by
// CloseNotification, 4 other.
func (s *Notifications) Close(id uint32, reason uint32) {
	s.mu.Lock()
	delete(s.live, id)
	s.mu.Unlock()
	s.emit("NotificationClosed", id, reason)
}

// Reply emits NotificationReplied(id, text), as KDE Plasma does when the
// user answers in the notification's inline reply field.
func (s *Notifications) Reply(id uint32, text string) {
	s.emit("NotificationReplied", id, text)
}

// emit broadcasts a signal of the Notifications interface. A failure is
// reported on the test that started the server.
func (s *Notifications) emit(member string, args ...any) {
	if err := s.conn.Emit(notificationsPath, notificationsIface+"."+member, args...); err != nil {
		s.t.Errorf("testenv: notification server: emit %s: %v", member, err)
	}
}

// Stop releases the name and disconnects from the bus, as a notification
// daemon that quits. Stopping twice is harmless.
func (s *Notifications) Stop() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	serving := s.serving
	s.mu.Unlock()
	s.conn.Close() // the bus releases the name with the connection
	if serving {
		<-s.served
	}
}

// serve handles the calls to the server, one at a time.
func (s *Notifications) serve() {
	defer close(s.served)
	for msg := range s.incoming { // closed with the connection
		if msg.Type != dbus.TypeMethodCall || s.cfg.neverReply {
			continue // signals from the bus; or a hung server
		}
		iface, _ := msg.Headers[dbus.FieldInterface].Value().(string)
		member, _ := msg.Headers[dbus.FieldMember].Value().(string)
		path, _ := msg.Headers[dbus.FieldPath].Value().(dbus.ObjectPath)
		switch {
		case path != notificationsPath:
			s.fail(msg, "org.freedesktop.DBus.Error.UnknownObject", "no object at "+string(path))
		case iface == "org.freedesktop.DBus.Peer" && member == "Ping":
			s.reply(msg)
		case iface == "org.freedesktop.DBus.Introspectable" && member == "Introspect":
			s.reply(msg, notificationsIntrospection)
		case iface != notificationsIface && iface != "":
			s.fail(msg, "org.freedesktop.DBus.Error.UnknownInterface", "no interface "+iface)
		default:
			s.call(msg, member)
		}
	}
}

// call handles a method of the Notifications interface.
func (s *Notifications) call(msg *dbus.Message, member string) {
	switch member {
	case "GetCapabilities":
		s.reply(msg, slices.Clone(s.cfg.caps))
	case "GetServerInformation":
		s.reply(msg, "sunoye-testenv", "SunOye", "1.0", "1.2")
	case "Notify":
		var c NotifyCall
		var hints map[string]dbus.Variant
		if err := dbus.Store(msg.Body, &c.AppName, &c.ReplacesID, &c.Icon, &c.Summary, &c.Body,
			&c.Actions, &hints, &c.Timeout); err != nil {
			s.fail(msg, "org.freedesktop.DBus.Error.InvalidArgs", err.Error())
			return
		}
		c.Received = time.Now()
		c.Sender, _ = msg.Headers[dbus.FieldSender].Value().(string)
		c.Hints = make(map[string]any, len(hints))
		for k, v := range hints {
			c.Hints[k] = v.Value()
		}
		s.mu.Lock()
		if c.ReplacesID != 0 && s.live[c.ReplacesID] {
			c.ID = c.ReplacesID
		} else {
			s.lastID++
			c.ID = s.lastID
		}
		s.live[c.ID] = true
		s.mu.Unlock()
		s.reply(msg, c.ID)
		s.mu.Lock()
		s.calls = append(s.calls, c)
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
	case "CloseNotification":
		var id uint32
		if err := dbus.Store(msg.Body, &id); err != nil {
			s.fail(msg, "org.freedesktop.DBus.Error.InvalidArgs", err.Error())
			return
		}
		s.mu.Lock()
		live := s.live[id]
		delete(s.live, id)
		s.mu.Unlock()
		s.reply(msg)
		if live {
			s.emit("NotificationClosed", id, uint32(3))
		}
	default:
		s.fail(msg, "org.freedesktop.DBus.Error.UnknownMethod", "no method "+member)
	}
}

// reply answers call with values.
func (s *Notifications) reply(call *dbus.Message, values ...any) {
	msg := &dbus.Message{Type: dbus.TypeMethodReply, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldReplySerial: dbus.MakeVariant(call.Serial()),
		dbus.FieldDestination: call.Headers[dbus.FieldSender],
	}, Body: values}
	if len(values) > 0 {
		msg.Headers[dbus.FieldSignature] = dbus.MakeVariant(dbus.SignatureOf(values...))
	}
	s.send(msg)
}

// fail answers call with an error.
func (s *Notifications) fail(call *dbus.Message, name, text string) {
	s.send(&dbus.Message{Type: dbus.TypeError, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldReplySerial: dbus.MakeVariant(call.Serial()),
		dbus.FieldDestination: call.Headers[dbus.FieldSender],
		dbus.FieldErrorName:   dbus.MakeVariant(name),
		dbus.FieldSignature:   dbus.MakeVariant(dbus.SignatureOf(text)),
	}, Body: []any{text}})
}

// send writes msg; it returns once msg is on its way to the bus.
func (s *Notifications) send(msg *dbus.Message) {
	if call := s.conn.Send(msg, nil); call.Err != nil && !s.isStopped() {
		s.t.Errorf("testenv: notification server: reply: %v", call.Err)
	}
}

func (s *Notifications) isStopped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopped
}

// notificationsIntrospection describes the server's interface, for
// clients (and people with d-feet) that introspect before calling.
const notificationsIntrospection = `<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<node>
  <interface name="org.freedesktop.Notifications">
    <method name="GetCapabilities"><arg direction="out" type="as"/></method>
    <method name="Notify">
      <arg direction="in" name="app_name" type="s"/>
      <arg direction="in" name="replaces_id" type="u"/>
      <arg direction="in" name="app_icon" type="s"/>
      <arg direction="in" name="summary" type="s"/>
      <arg direction="in" name="body" type="s"/>
      <arg direction="in" name="actions" type="as"/>
      <arg direction="in" name="hints" type="a{sv}"/>
      <arg direction="in" name="expire_timeout" type="i"/>
      <arg direction="out" name="id" type="u"/>
    </method>
    <method name="CloseNotification"><arg direction="in" name="id" type="u"/></method>
    <method name="GetServerInformation">
      <arg direction="out" name="name" type="s"/>
      <arg direction="out" name="vendor" type="s"/>
      <arg direction="out" name="version" type="s"/>
      <arg direction="out" name="spec_version" type="s"/>
    </method>
    <signal name="NotificationClosed"><arg name="id" type="u"/><arg name="reason" type="u"/></signal>
    <signal name="ActionInvoked"><arg name="id" type="u"/><arg name="action_key" type="s"/></signal>
    <signal name="NotificationReplied"><arg name="id" type="u"/><arg name="text" type="s"/></signal>
  </interface>
  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect"><arg direction="out" type="s"/></method>
  </interface>
</node>
`
