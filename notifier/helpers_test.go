//go:build linux

package notifier_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/roomstest"
	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/notifier"
	"github.com/sunoye/sunoye/rooms"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// wait is how long a test waits for something that takes milliseconds on
// an idle machine: generous, because the test machine is not idle.
const wait = 20 * time.Second

// waitLog waits until the log has a line containing s.
func waitLog(t *testing.T, b *testenv.LogBuffer, s string) {
	t.Helper()
	eventually(t, "a log line with "+s, func() bool { return b.Count(s) > 0 })
}

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", wait, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// newNotifier returns a Notifier on the bus at bus, closed when the test
// ends.
func newNotifier(t testing.TB, bus string, opt notifier.Options) *notifier.Notifier {
	t.Helper()
	opt.BusAddress = bus
	if opt.Logger == nil {
		opt.Logger = testenv.TestLogger(t)
	}
	n, err := notifier.New(t.Context(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// note is a notification as rooms.Service hands it over.
func note(room rooms.ID, sender, text string) rooms.Notification {
	return rooms.Notification{Room: room, Sender: sender, Text: text}
}

// cheapKDF keeps room creation fast; the KDF's cost is not under test.
var cheapKDF = rooms.KDFParams{Time: 1, MemoryKiB: 1024, Threads: 1}

// chat is two daemons' Services in one room over an embedded broker and
// registry: Asha, who is notified, and Bilal, who writes.
type chat struct {
	asha, bilal *rooms.Service
	room        rooms.ID
	events      <-chan rooms.Event // Asha's
}

func newChat(t testing.TB, nf rooms.Notifier) *chat {
	t.Helper()
	broker := roomstest.StartBroker(t)
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "registry.db")
	c := &chat{asha: newService(t, "Asha", broker, dsn), bilal: newService(t, "Bilal", broker, dsn)}
	c.asha.SetNotifier(nf)
	// Run delivers the notifications; it ends before Shutdown (cleanups
	// run last first).
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.asha.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	events, unsubscribe := c.asha.Subscribe(1024)
	t.Cleanup(unsubscribe)
	c.events = events
	c.room = c.newRoom(t)
	return c
}

// newRoom makes a room that Asha created and Bilal joined.
func (c *chat) newRoom(t testing.TB) rooms.ID {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	inv, err := c.asha.Create(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.bilal.Join(ctx, inv.Room, inv.Password); err != nil {
		t.Fatal(err)
	}
	return inv.Room
}

func newService(t testing.TB, name, broker, dsn string) *rooms.Service {
	t.Helper()
	return roomstest.NewService(t, roomstest.Config{Name: name, Broker: broker, DB: dsn, KDF: cheapKDF, Logger: testenv.TestLogger(t)})
}

// send has svc write text to room.
func send(t testing.TB, svc *rooms.Service, room rooms.ID, text string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	if _, err := svc.Send(ctx, room, text); err != nil {
		t.Fatal(err)
	}
}

// arrived waits until Asha's Service has the message text from someone
// else: from then on, whether it is notified has been decided.
func (c *chat) arrived(t testing.TB, text string) {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case e, ok := <-c.events:
			if !ok {
				t.Fatal("event subscription cut off")
			}
			if e.Kind == rooms.EventMessage && !e.Message.Own && e.Message.Text == text {
				return
			}
		case <-deadline:
			t.Fatalf("message %q did not arrive within %v", text, wait)
		}
	}
}

// waitBody waits for a Notify call with the given body and returns all
// calls so far.
func waitBody(t testing.TB, srv *testenv.Notifications, body string) []testenv.NotifyCall {
	t.Helper()
	calls := srv.Calls()
	for !slices.ContainsFunc(calls, func(c testenv.NotifyCall) bool { return c.Body == body }) {
		calls = srv.WaitCalls(t, len(calls)+1, wait)
	}
	return calls
}

// bodies returns the bodies of calls.
func bodies(calls []testenv.NotifyCall) []string {
	var b []string
	for _, c := range calls {
		b = append(b, c.Body)
	}
	return b
}
