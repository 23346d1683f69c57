//go:build linux

package notifier_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/notifier"
	"github.com/sunoye/sunoye/rooms"
)

// These tests run the whole path: Bilal's Service sends, Asha's receives
// over the broker, decides to notify, and her Notifier calls a
// notification server on a private session bus.

func TestMessageNotifies(t *testing.T) {
	bus := testenv.SessionBus(t)
	srv := testenv.NotificationServer(t, bus)
	c := newChat(t, newNotifier(t, bus, notifier.Options{}))

	send(t, c.bilal, c.room, "Hello there,\nAsha!")
	calls := srv.WaitCalls(t, 1, wait)
	got := calls[0]
	if want := rooms.Label("Bilal", c.bilal.Me()) + " · room " + string(c.room); got.Summary != want {
		t.Errorf("summary %q, want %q", got.Summary, want)
	}
	if got.Body != "Hello there,\nAsha!" {
		t.Errorf("body %q", got.Body)
	}
	if got.AppName != notifier.DefaultAppName || got.Icon != notifier.DefaultIcon || got.ReplacesID != 0 || got.Timeout != -1 {
		t.Errorf("call %+v", got)
	}
	if label, ok := got.Action("default"); !ok || label == "" {
		t.Errorf("no default action, so a click would do nothing: %q", got.Actions)
	}
	if _, ok := got.Action("inline-reply"); ok {
		t.Errorf("inline-reply offered to a server without the capability: %q", got.Actions)
	}
	for k, v := range map[string]any{"category": "im.received", "desktop-entry": "sunoye", "urgency": byte(1)} {
		if got.Hints[k] != v {
			t.Errorf("hint %s = %#v, want %#v", k, got.Hints[k], v)
		}
	}

	// A second message is the barrier: once its call is in, the first
	// message has had all the calls it will get.
	send(t, c.bilal, c.room, "second")
	calls = waitBody(t, srv, "second")
	if !slices.Equal(bodies(calls), []string{"Hello there,\nAsha!", "second"}) {
		t.Errorf("calls for two messages: %q", bodies(calls))
	}
}

// A burst replaces the room's notification instead of stacking, and says
// how many messages it stands for; once the user dismisses it, the next
// message starts afresh.
func TestBurstReplaces(t *testing.T) {
	bus := testenv.SessionBus(t)
	srv := testenv.NotificationServer(t, bus)
	log, logs := testenv.NewLogger()
	c := newChat(t, newNotifier(t, bus, notifier.Options{Logger: log}))

	for i := 1; i <= 5; i++ {
		send(t, c.bilal, c.room, fmt.Sprintf("message %d", i))
	}
	calls := waitBody(t, srv, "message 5")
	if len(calls) != 5 {
		t.Fatalf("%d calls for 5 messages: %q", len(calls), bodies(calls))
	}
	first := calls[0].ID
	for i, call := range calls[1:] {
		if call.ReplacesID != first {
			t.Errorf("call %d replaces %d, want %d (the first)", i+2, call.ReplacesID, first)
		}
	}
	if want := fmt.Sprintf("%s · room %s (5 new)", rooms.Label("Bilal", c.bilal.Me()), c.room); calls[4].Summary != want {
		t.Errorf("last summary %q, want %q", calls[4].Summary, want)
	}
	if s := srv.Showing(); len(s) != 1 {
		t.Errorf("%d notifications on screen, want 1", len(s))
	}

	srv.Close(first, 2) // the user dismisses it
	waitLog(t, logs, "NotificationClosed")
	send(t, c.bilal, c.room, "after dismissing")
	calls = waitBody(t, srv, "after dismissing")
	last := calls[len(calls)-1]
	if last.ReplacesID != 0 || last.Summary != rooms.Label("Bilal", c.bilal.Me())+" · room "+string(c.room) {
		t.Errorf("after dismissing: replaces %d, summary %q; want a fresh notification", last.ReplacesID, last.Summary)
	}
}

// Own messages, a muted room, Do not disturb and a focused chat window
// produce no notification. Each case is followed by a message that is
// notified, which proves that the quiet one was decided by then.
func TestQuiet(t *testing.T) {
	bus := testenv.SessionBus(t)
	srv := testenv.NotificationServer(t, bus)
	c := newChat(t, newNotifier(t, bus, notifier.Options{}))

	notNotified := func(t *testing.T, quiet, after string) {
		t.Helper()
		calls := waitBody(t, srv, after)
		if slices.Contains(bodies(calls), quiet) {
			t.Errorf("%q was notified: %q", quiet, bodies(calls))
		}
	}
	t.Run("own message", func(t *testing.T) {
		send(t, c.asha, c.room, "my own words")
		send(t, c.bilal, c.room, "after own")
		notNotified(t, "my own words", "after own")
	})
	t.Run("muted room", func(t *testing.T) {
		if err := c.asha.SetMuted(c.room, true); err != nil {
			t.Fatal(err)
		}
		send(t, c.bilal, c.room, "while muted")
		c.arrived(t, "while muted") // mute is read before the message is announced
		if err := c.asha.SetMuted(c.room, false); err != nil {
			t.Fatal(err)
		}
		send(t, c.bilal, c.room, "after muted")
		notNotified(t, "while muted", "after muted")
	})
	t.Run("do not disturb", func(t *testing.T) {
		c.asha.SetDoNotDisturb(true)
		send(t, c.bilal, c.room, "during dnd")
		// Do not disturb is read after the message is announced: the
		// next message's arrival shows that the first one was decided.
		send(t, c.bilal, c.room, "dnd barrier")
		c.arrived(t, "dnd barrier")
		c.asha.SetDoNotDisturb(false)
		send(t, c.bilal, c.room, "after dnd")
		notNotified(t, "during dnd", "after dnd")
	})
	t.Run("focused window", func(t *testing.T) {
		c.asha.SetFocused(c.room, true)
		send(t, c.bilal, c.room, "while focused")
		send(t, c.bilal, c.room, "focus barrier")
		c.arrived(t, "focus barrier")
		c.asha.SetFocused(c.room, false)
		send(t, c.bilal, c.room, "after focus")
		notNotified(t, "while focused", "after focus")
	})
}

// At level "mentions" only the messages that mention Asha (@Asha, @room)
// notify, and their notification says so; at "none" nothing does; typing
// never does. Each quiet case is followed by a message that is notified.
func TestNotifyLevels(t *testing.T) {
	bus := testenv.SessionBus(t)
	srv := testenv.NotificationServer(t, bus)
	c := newChat(t, newNotifier(t, bus, notifier.Options{}))
	level := func(l rooms.NotifyLevel) {
		t.Helper()
		if err := c.asha.SetNotify(c.room, l); err != nil {
			t.Fatal(err)
		}
		if in, err := c.asha.Room(c.room); err != nil || in.Notify != l || in.Muted != (l == rooms.NotifyNone) {
			t.Fatalf("after SetNotify(%s): %+v %v", l, in, err)
		}
	}
	label := rooms.Label("Bilal", c.bilal.Me())

	level(rooms.NotifyMentions)
	send(t, c.bilal, c.room, "nothing for Asha here")
	send(t, c.bilal, c.room, "mail asha@example.org")
	send(t, c.bilal, c.room, "@asha, look")
	calls := waitBody(t, srv, "@asha, look")
	if slices.Contains(bodies(calls), "nothing for Asha here") || slices.Contains(bodies(calls), "mail asha@example.org") {
		t.Errorf("at level mentions, messages without a mention notified: %q", bodies(calls))
	}
	if got, want := calls[len(calls)-1].Summary, label+" mentioned you · room "+string(c.room); got != want {
		t.Errorf("summary of a mention %q, want %q", got, want)
	}
	send(t, c.bilal, c.room, "@room meeting")
	waitBody(t, srv, "@room meeting")

	level(rooms.NotifyNone)
	send(t, c.bilal, c.room, "@Asha while none")
	c.arrived(t, "@Asha while none")
	if err := c.bilal.Typing(t.Context(), c.room); err != nil {
		t.Fatal(err)
	}
	level(rooms.NotifyAll)
	send(t, c.bilal, c.room, "after none")
	calls = waitBody(t, srv, "after none")
	if slices.Contains(bodies(calls), "@Asha while none") {
		t.Errorf("at level none a mention notified: %q", bodies(calls))
	}
	if got, want := calls[len(calls)-1].Summary, label+" · room "+string(c.room); !strings.HasPrefix(got, want) {
		t.Errorf("summary of a message without a mention %q, want %q…", got, want)
	}
	for _, call := range calls {
		if call.Body == "" {
			t.Errorf("a notification without text (typing?): %+v", call)
		}
	}
}

// Clicking a notification opens its room, whichever of several rooms it
// is; clicks on notifications that are not ours, or signals from anyone
// but the server, open nothing.
func TestClickOpensRoom(t *testing.T) {
	bus := testenv.SessionBus(t)
	srv := testenv.NotificationServer(t, bus)
	opened := make(chan rooms.ID, 10)
	c := newChat(t, newNotifier(t, bus, notifier.Options{OnOpen: func(r rooms.ID) { opened <- r }}))
	room2 := c.newRoom(t)

	send(t, c.bilal, c.room, "in room one")
	send(t, c.bilal, room2, "in room two")
	calls := waitBody(t, srv, "in room one")
	calls = waitBody(t, srv, "in room two")
	id := map[string]uint32{}
	for _, call := range calls {
		id[call.Body] = call.ID
	}
	if id["in room one"] == id["in room two"] {
		t.Fatalf("both rooms share notification %d", id["in room one"])
	}

	// None of these may open a window; the clicks that follow show it,
	// because clicks are handled in order.
	srv.Invoke(4711, "default")                // not ours
	srv.Invoke(id["in room one"], "other-key") // not the default action
	spoofClick(t, bus, calls[0].Sender, id["in room one"])

	srv.Invoke(id["in room two"], "default")
	srv.Invoke(id["in room one"], "default")
	for _, want := range []rooms.ID{room2, c.room} {
		select {
		case got := <-opened:
			if got != want {
				t.Fatalf("OnOpen(%s), want OnOpen(%s)", got, want)
			}
		case <-time.After(wait):
			t.Fatalf("no OnOpen(%s) within %v", want, wait)
		}
	}
}

// Where the server offers it, an answer typed into the notification is
// sent to the room.
func TestInlineReply(t *testing.T) {
	bus := testenv.SessionBus(t)
	srv := testenv.NotificationServer(t, bus, testenv.NotificationCapabilities("actions", "body", "inline-reply"))
	var c *chat
	sent := make(chan error, 1)
	nf := newNotifier(t, bus, notifier.Options{OnReply: func(room rooms.ID, text string) {
		// What the daemon does with a reply.
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_, err := c.asha.Send(ctx, room, text)
		sent <- err
	}})
	c = newChat(t, nf)
	bilalEvents, unsubscribe := c.bilal.Subscribe(256)
	defer unsubscribe()

	send(t, c.bilal, c.room, "lunch?")
	call := srv.WaitCalls(t, 1, wait)[0]
	if _, ok := call.Action("inline-reply"); !ok {
		t.Fatalf("no inline-reply action: %q", call.Actions)
	}
	if call.Hints["x-kde-reply-placeholder-text"] == nil {
		t.Errorf("no reply placeholder: %v", call.Hints)
	}
	srv.Reply(call.ID, "yes, at one")
	select {
	case err := <-sent:
		if err != nil {
			t.Fatalf("sending the reply: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("OnReply was not called")
	}
	deadline := time.After(wait)
	for {
		select {
		case e := <-bilalEvents:
			if e.Kind == rooms.EventMessage && !e.Message.Own && e.Message.Text == "yes, at one" && e.Message.Name == "Asha" {
				return
			}
		case <-deadline:
			t.Fatal("Bilal did not receive the inline reply")
		}
	}
}

// A notification server that hangs does not hold up the chat: messages
// arrive while each notification waits out its timeout.
func TestHungServerDoesNotBlockChat(t *testing.T) {
	bus := testenv.SessionBus(t)
	testenv.NotificationServer(t, bus, testenv.NotificationsNeverReply())
	const timeout = 3 * time.Second
	c := newChat(t, newNotifier(t, bus, notifier.Options{CallTimeout: timeout}))

	start := time.Now()
	for i := range 3 {
		send(t, c.bilal, c.room, fmt.Sprintf("hung %d", i))
	}
	for i := range 3 {
		c.arrived(t, fmt.Sprintf("hung %d", i))
	}
	// Were delivery waiting for notifications, the third message would
	// come after two timeouts.
	if d := time.Since(start); d > timeout {
		t.Errorf("3 messages took %v to arrive beside a hung notification server", d)
	}
	h, err := c.asha.History(c.room)
	if err != nil || len(h) != 3 || !strings.HasPrefix(h[2].Text, "hung") {
		t.Errorf("history %v, %v", h, err)
	}
}

// Reading the room (its window focused, or the messages marked read)
// takes its notification off the screen: "3 new" about messages already
// read would be noise.
func TestReadWithdraws(t *testing.T) {
	bus := testenv.SessionBus(t)
	srv := testenv.NotificationServer(t, bus)
	c := newChat(t, newNotifier(t, bus, notifier.Options{}))

	send(t, c.bilal, c.room, "read me")
	srv.WaitCalls(t, 1, wait)
	if len(srv.Showing()) != 1 {
		t.Fatalf("showing %v, want the room's notification", srv.Showing())
	}
	c.asha.SetFocused(c.room, true)
	eventually(t, "the notification to be withdrawn", func() bool { return len(srv.Showing()) == 0 })
}
