//go:build linux

package notifier_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/notifier"
	"github.com/sunoye/sunoye/rooms"
)

const offLine = "desktop notifications are off"

// spoofClick sends ActionInvoked(id, "default") straight to the
// connection named dest, from a connection that is not the notification
// server, and returns once the bus has passed it on.
func spoofClick(t *testing.T, bus, dest string, id uint32) {
	t.Helper()
	conn, err := dbus.Connect(bus)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msg := &dbus.Message{Type: dbus.TypeSignal, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldPath:        dbus.MakeVariant(dbus.ObjectPath("/org/freedesktop/Notifications")),
		dbus.FieldInterface:   dbus.MakeVariant("org.freedesktop.Notifications"),
		dbus.FieldMember:      dbus.MakeVariant("ActionInvoked"),
		dbus.FieldDestination: dbus.MakeVariant(dest),
		dbus.FieldSignature:   dbus.MakeVariant(dbus.SignatureOf(id, "default")),
	}, Body: []any{id, "default"}}
	if call := conn.Send(msg, nil); call.Err != nil {
		t.Fatal(call.Err)
	}
	// The bus handles a connection's messages in order: once it answers
	// this call, it has routed the signal.
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	var busID string
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetId", 0).Store(&busID); err != nil {
		t.Fatal(err)
	}
}

// With a server that reads the body as markup, message text is escaped
// so that it shows as typed; without, it goes as it is.
func TestMarkupEscaped(t *testing.T) {
	const text = `<b>bold</b> & <img src=x onerror="alert(1)">`
	for _, c := range []struct {
		caps []string
		want string
	}{
		{[]string{"actions", "body", "body-markup"}, `&lt;b&gt;bold&lt;/b&gt; &amp; &lt;img src=x onerror="alert(1)"&gt;`},
		{[]string{"actions", "body"}, text},
	} {
		t.Run(strings.Join(c.caps, ","), func(t *testing.T) {
			bus := testenv.SessionBus(t)
			srv := testenv.NotificationServer(t, bus, testenv.NotificationCapabilities(c.caps...))
			nf := newNotifier(t, bus, notifier.Options{})
			if err := nf.Notify(t.Context(), note("482913057", "<i>Asha</i>", text)); err != nil {
				t.Fatal(err)
			}
			call := srv.WaitCalls(t, 1, wait)[0]
			if call.Body != c.want {
				t.Errorf("body %q, want %q", call.Body, c.want)
			}
			// The summary is plain text in the specification, for every server.
			if call.Summary != "<i>Asha</i> · room 482913057" {
				t.Errorf("summary %q", call.Summary)
			}
		})
	}
}

// Without a notification server, Notify fails at once, and the log says
// so once, not once per message. When a server appears, notifications
// flow again; when it goes, and another comes, too.
func TestNoServer(t *testing.T) {
	bus := testenv.SessionBus(t)
	log, logs := testenv.NewLogger()
	nf := newNotifier(t, bus, notifier.Options{Logger: log, CallTimeout: 10 * time.Second})
	for i := range 3 {
		start := time.Now()
		err := nf.Notify(t.Context(), note("482913057", "Asha", "hello"))
		if !errors.Is(err, notifier.ErrUnavailable) || !strings.Contains(err.Error(), "no notification server") {
			t.Fatalf("Notify %d without a server: %v", i, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Notify %d without a server took %v; nobody owns the name, so the bus says so at once", i, d)
		}
	}
	if n := logs.Count(offLine); n != 1 || logs.Count("no notification server on the session bus") != 1 {
		t.Errorf("%d lines saying notifications are off, want 1:\n%s", n, logs)
	}

	srv := testenv.NotificationServer(t, bus)
	if err := nf.Notify(t.Context(), note("482913057", "Asha", "server is back")); err != nil {
		t.Fatalf("Notify after the server started: %v", err)
	}
	srv.WaitCalls(t, 1, wait)
	if logs.Count("desktop notifications are on again") != 1 {
		t.Errorf("no line saying notifications are on again:\n%s", logs)
	}

	// The server quits: the Notifier hears of it and says so once.
	srv.Stop()
	eventually(t, "a second line saying notifications are off", func() bool { return logs.Count(offLine) == 2 })
	if err := nf.Notify(t.Context(), note("482913057", "Asha", "gone again")); !errors.Is(err, notifier.ErrUnavailable) {
		t.Errorf("Notify after the server quit: %v", err)
	}
	// Another server knows nothing of the first one's notifications.
	srv2 := testenv.NotificationServer(t, bus)
	if err := nf.Notify(t.Context(), note("482913057", "Asha", "new server")); err != nil {
		t.Fatal(err)
	}
	if call := srv2.WaitCalls(t, 1, wait)[0]; call.ReplacesID != 0 || strings.Contains(call.Summary, "new)") {
		t.Errorf("first call to a new server replaces %d, summary %q", call.ReplacesID, call.Summary)
	}
	if n := logs.Count(offLine); n != 2 {
		t.Errorf("%d lines saying notifications are off, want 2:\n%s", n, logs)
	}
}

// A server that owns the name but never answers costs each Notify its
// timeout and no more; New, which asks the server what it can do, too.
func TestServerNeverAnswers(t *testing.T) {
	bus := testenv.SessionBus(t)
	testenv.NotificationServer(t, bus, testenv.NotificationsNeverReply())
	log, logs := testenv.NewLogger()
	// Without the timeout these calls would never return; with it, even
	// a machine busy with other tests returns within three times it.
	const timeout = time.Second
	const bound = 3 * timeout

	start := time.Now()
	nf := newNotifier(t, bus, notifier.Options{Logger: log, CallTimeout: timeout})
	if d := time.Since(start); d > bound {
		t.Errorf("New took %v with a hung server, timeout %v", d, timeout)
	}
	for i := range 2 {
		start := time.Now()
		err := nf.Notify(t.Context(), note("482913057", "Asha", "hello"))
		d := time.Since(start)
		if !errors.Is(err, notifier.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Notify %d: %v, want a timeout", i, err)
		}
		if d > bound {
			t.Errorf("Notify %d took %v, timeout %v", i, d, timeout)
		}
	}
	if n := logs.Count("does not answer"); n != 1 {
		t.Errorf("%d lines saying the server does not answer, want 1:\n%s", n, logs)
	}
}

// No session bus: Notify fails at once with an error that says so, and
// the log says it once. The address comes from the environment, as in the
// daemon.
func TestNoSessionBus(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-bus-here"))
	log, logs := testenv.NewLogger()
	nf := newNotifier(t, "", notifier.Options{Logger: log, CallTimeout: 10 * time.Second})
	for range 3 {
		start := time.Now()
		err := nf.Notify(t.Context(), note("482913057", "Asha", "hello"))
		if !errors.Is(err, notifier.ErrUnavailable) || !strings.Contains(err.Error(), "no D-Bus session bus") {
			t.Errorf("Notify without a bus: %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Notify without a bus took %v", d)
		}
	}
	if n := logs.Count(offLine); n != 1 || logs.Count("no D-Bus session bus") != 1 {
		t.Errorf("%d lines saying notifications are off, want 1:\n%s", n, logs)
	}
}

// A bus socket that accepts connections but never speaks (a wedged
// dbus-daemon) bounds New and Notify by the timeout too.
func TestBusNeverAnswers(t *testing.T) {
	dir, err := os.MkdirTemp("", "nf") // short enough for a socket name
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "bus")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn // accepted, never answered
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		ln.Close()
		<-done
		for _, c := range held {
			c.Close()
		}
	}()

	const timeout = time.Second
	start := time.Now()
	nf := newNotifier(t, "unix:path="+sock, notifier.Options{CallTimeout: timeout})
	if d := time.Since(start); d > 3*timeout {
		t.Errorf("New took %v against a silent bus", d)
	}
	start = time.Now()
	err = nf.Notify(t.Context(), note("482913057", "Asha", "hello"))
	if d := time.Since(start); d > 3*timeout {
		t.Errorf("Notify took %v against a silent bus", d)
	}
	if !errors.Is(err, notifier.ErrUnavailable) {
		t.Errorf("Notify against a silent bus: %v", err)
	}
}

// Withdraw takes a room's notification off the screen; the next message
// starts a new one.
func TestWithdraw(t *testing.T) {
	bus := testenv.SessionBus(t)
	srv := testenv.NotificationServer(t, bus)
	nf := newNotifier(t, bus, notifier.Options{})
	for _, text := range []string{"one", "two"} {
		if err := nf.Notify(t.Context(), note("482913057", "Asha", text)); err != nil {
			t.Fatal(err)
		}
	}
	if err := nf.Withdraw(t.Context(), "482913057"); err != nil {
		t.Fatal(err)
	}
	if s := srv.Showing(); len(s) != 0 {
		t.Errorf("still on screen after Withdraw: %v", s)
	}
	if err := nf.Withdraw(t.Context(), "111111111"); err != nil {
		t.Errorf("Withdraw of a room without a notification: %v", err)
	}
	if err := nf.Notify(t.Context(), note("482913057", "Asha", "three")); err != nil {
		t.Fatal(err)
	}
	calls := srv.WaitCalls(t, 3, wait)
	if c := calls[2]; c.ReplacesID != 0 || c.Summary != "Asha · room 482913057" {
		t.Errorf("after Withdraw: replaces %d, summary %q", c.ReplacesID, c.Summary)
	}
}

// After Close, Notify fails with ErrClosed, and the Notifier is off the
// bus, so that no click reaches it.
func TestClose(t *testing.T) {
	bus := testenv.SessionBus(t)
	srv := testenv.NotificationServer(t, bus)
	nf := newNotifier(t, bus, notifier.Options{})
	if err := nf.Notify(t.Context(), note("482913057", "Asha", "hi")); err != nil {
		t.Fatal(err)
	}
	srv.WaitCalls(t, 1, wait)
	if err := nf.Close(); err != nil {
		t.Fatal(err)
	}
	if err := nf.Notify(t.Context(), note("482913057", "Asha", "hi")); !errors.Is(err, notifier.ErrClosed) {
		t.Errorf("Notify after Close: %v", err)
	}
	if err := nf.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// The connection is gone: the bus has nobody to give a click to.
	conn, err := dbus.Connect(bus)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	var connected bool
	sender := srv.Calls()[0].Sender
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, sender).Store(&connected); err != nil {
		t.Fatal(err)
	}
	if connected {
		t.Errorf("the Notifier's connection %s is still on the bus after Close", sender)
	}
}

// The real dunst: a message shows one notification, a second replaces it
// rather than stacking, and a click opens the room.
func TestDunst(t *testing.T) {
	bus := testenv.SessionBus(t)
	display := testenv.Xvfb(t)
	d := testenv.StartDunst(t, bus, display)
	opened := make(chan rooms.ID, 1)
	log, logs := testenv.NewLogger()
	c := newChat(t, newNotifier(t, bus, notifier.Options{Logger: log, OnOpen: func(r rooms.ID) { opened <- r }}))
	if !strings.Contains(logs.String(), "body-markup") {
		t.Errorf("dunst's capabilities are not logged, or lack body-markup:\n%s", logs)
	}

	send(t, c.bilal, c.room, "<b>hi</b> from Bilal")
	eventually(t, "dunst to show the notification", func() bool { return d.Displayed(t) == 1 })
	send(t, c.bilal, c.room, "and again")
	waitLog(t, logs, "count=2")
	if n := d.Displayed(t); n != 1 {
		t.Errorf("dunst shows %d notifications after two messages, want 1", n)
	}
	// Drawn on the screen, not only counted (the README shows this one).
	eventually(t, "dunst to draw the notification", func() bool {
		img := testenv.Screenshot(t, display, "notification")
		return testenv.Colors(img, img.Bounds()) > 8
	})
	d.Action(t, 0)
	select {
	case got := <-opened:
		if got != c.room {
			t.Errorf("OnOpen(%s), want %s", got, c.room)
		}
	case <-time.After(wait):
		t.Fatal("clicking the notification in dunst did not open the room")
	}
}
