package testenv_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/sunoye/sunoye/internal/testenv"
)

const (
	fdoName  = "org.freedesktop.Notifications"
	fdoPath  = dbus.ObjectPath("/org/freedesktop/Notifications")
	fdoIface = "org.freedesktop.Notifications"
)

// notifyClient is a client of a notification server, as an application
// is: it calls Notify and listens for the server's signals.
type notifyClient struct {
	conn    *dbus.Conn
	signals chan *dbus.Signal
}

func newNotifyClient(t *testing.T, bus string) *notifyClient {
	t.Helper()
	conn, err := dbus.Connect(bus)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := conn.AddMatchSignalContext(ctx, dbus.WithMatchInterface(fdoIface)); err != nil {
		t.Fatal(err)
	}
	c := &notifyClient{conn: conn, signals: make(chan *dbus.Signal, 16)}
	conn.Signal(c.signals)
	return c
}

func (c *notifyClient) call(ctx context.Context, method string, args ...any) *dbus.Call {
	return c.conn.Object(fdoName, fdoPath).CallWithContext(ctx, fdoIface+"."+method, 0, args...)
}

func (c *notifyClient) notify(t *testing.T, replaces uint32, summary, body string) uint32 {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	var id uint32
	err := c.call(ctx, "Notify", "app", replaces, "icon", summary, body,
		[]string{"default", "Open"}, map[string]dbus.Variant{"urgency": dbus.MakeVariant(byte(1))}, int32(-1)).Store(&id)
	if err != nil {
		t.Fatalf("Notify: %v", err)
	}
	return id
}

// expectSignal waits for the named signal of the Notifications interface
// and returns its body.
func (c *notifyClient) expectSignal(t *testing.T, member string) []any {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case s := <-c.signals:
			if s.Name == fdoIface+"."+member {
				return s.Body
			}
		case <-deadline:
			t.Fatalf("no %s signal within 10s", member)
		}
	}
}

func TestNotificationServer(t *testing.T) {
	bus := testenv.SessionBus(t)
	srv := testenv.NotificationServer(t, bus, testenv.NotificationCapabilities("actions", "body", "body-markup"))
	c := newNotifyClient(t, bus)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	var caps []string
	if err := c.call(ctx, "GetCapabilities").Store(&caps); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(caps, []string{"actions", "body", "body-markup"}) {
		t.Errorf("capabilities %q", caps)
	}
	var xml string
	if err := c.conn.Object(fdoName, fdoPath).CallWithContext(ctx, "org.freedesktop.DBus.Introspectable.Introspect", 0).Store(&xml); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(xml, `<signal name="ActionInvoked">`) {
		t.Errorf("introspection lacks the signals:\n%s", xml)
	}

	first := c.notify(t, 0, "one", "body one")
	again := c.notify(t, first, "two", "body two")
	if again != first {
		t.Errorf("replacing %d returned %d, want the same id", first, again)
	}
	other := c.notify(t, 4711, "three", "body three") // not on screen: a new one
	if other == first || other == 0 {
		t.Errorf("replacing an unknown id returned %d (first was %d), want a new id", other, first)
	}
	calls := srv.WaitCalls(t, 3, 10*time.Second)
	if len(calls) != 3 {
		t.Fatalf("%d calls recorded, want 3", len(calls))
	}
	got := calls[1]
	if got.AppName != "app" || got.ReplacesID != first || got.Icon != "icon" || got.Summary != "two" ||
		got.Body != "body two" || got.Timeout != -1 || got.ID != first || got.Sender != c.conn.Names()[0] {
		t.Errorf("recorded %+v", got)
	}
	if l, ok := got.Action("default"); !ok || l != "Open" {
		t.Errorf("default action %q, %v", l, ok)
	}
	if got.Hints["urgency"] != byte(1) {
		t.Errorf("hints %v", got.Hints)
	}
	if s := srv.Showing(); !slices.Equal(s, []uint32{first, other}) {
		t.Errorf("showing %v, want [%d %d]", s, first, other)
	}

	srv.Invoke(first, "default")
	if b := c.expectSignal(t, "ActionInvoked"); b[0] != first || b[1] != "default" {
		t.Errorf("ActionInvoked%v", b)
	}
	srv.Reply(first, "on my way")
	if b := c.expectSignal(t, "NotificationReplied"); b[0] != first || b[1] != "on my way" {
		t.Errorf("NotificationReplied%v", b)
	}
	srv.Close(first, 2)
	if b := c.expectSignal(t, "NotificationClosed"); b[0] != first || b[1] != uint32(2) {
		t.Errorf("NotificationClosed%v", b)
	}
	if err := c.call(ctx, "CloseNotification", other).Err; err != nil {
		t.Fatal(err)
	}
	if b := c.expectSignal(t, "NotificationClosed"); b[0] != other || b[1] != uint32(3) {
		t.Errorf("NotificationClosed%v after CloseNotification", b)
	}
	if s := srv.Showing(); len(s) != 0 {
		t.Errorf("still showing %v", s)
	}
	if id := c.notify(t, first, "four", "closed ones are not replaced"); id == first {
		t.Errorf("replacing closed %d returned the same id", first)
	}

	srv.Stop()
	var has bool
	if err := c.conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, fdoName).Store(&has); err != nil {
		t.Fatal(err)
	}
	if has {
		t.Error("the name is still owned after Stop")
	}
}

// A server that never replies holds the name, and a client's call runs
// into its own timeout.
func TestNotificationServerNeverReplies(t *testing.T) {
	bus := testenv.SessionBus(t)
	testenv.NotificationServer(t, bus, testenv.NotificationsNeverReply())
	c := newNotifyClient(t, bus)

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	var caps []string
	err := c.call(ctx, "GetCapabilities").Store(&caps)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("GetCapabilities of a hung server: %v, want a timeout", err)
	}
	var owner string
	octx, ocancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer ocancel()
	if err := c.conn.BusObject().CallWithContext(octx, "org.freedesktop.DBus.GetNameOwner", 0, fdoName).Store(&owner); err != nil {
		t.Errorf("the hung server does not own the name: %v", err)
	}
}

// A second server cannot take the name from the first.
func TestNotificationServerNameTaken(t *testing.T) {
	bus := testenv.SessionBus(t)
	testenv.NotificationServer(t, bus)
	f := &fakeTB{TB: t}
	testenv.NotificationServer(f, bus)
	if !strings.Contains(f.fatal, "owned by another connection") {
		t.Errorf("second server: fatal %q", f.fatal)
	}
}

// The real dunst, driven the way the fake is: a Notify shows, replacing
// does not stack, a click emits ActionInvoked to the sender.
func TestDunst(t *testing.T) {
	bus := testenv.SessionBus(t)
	d := testenv.StartDunst(t, bus, testenv.Xvfb(t))
	c := newNotifyClient(t, bus)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var caps []string
	if err := c.call(ctx, "GetCapabilities").Store(&caps); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(caps, "body-markup") || !slices.Contains(caps, "actions") {
		t.Errorf("dunst capabilities %q, want body-markup and actions", caps)
	}

	id := c.notify(t, 0, "one", "first")
	if again := c.notify(t, id, "two", "second"); again != id {
		t.Errorf("replacing %d returned %d", id, again)
	}
	waitFor(t, "dunst to show one notification", func() bool { return d.Displayed(t) == 1 })
	d.Action(t, 0)
	if b := c.expectSignal(t, "ActionInvoked"); b[0] != id || b[1] != "default" {
		t.Errorf("ActionInvoked%v, want [%d default]", b, id)
	}
	d.CloseAll(t)
	if b := c.expectSignal(t, "NotificationClosed"); b[0] != id {
		t.Errorf("NotificationClosed%v, want id %d", b, id)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
