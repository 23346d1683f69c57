package web_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
	"github.com/sunoye/sunoye/web"
)

// A clean stop ends the followers' streams (`sunoye tail`) once they have
// written every message the daemon showed, and FollowsEnded says when, so
// that the daemon can wait for it before it exits. Before, the streams
// ended with the process: what the stop had just shown (and marked shown
// on disk, so that the next run does not show it again) could still be
// in a stream's buffer when the process went, and the follower never saw
// it (TestChaos: a member stopped while messages poured in missed one;
// TestFrozenThenStoppedLosesNothing: a tail ended at 281 of 300).
func TestFollowEndsWithTheStop(t *testing.T) {
	broker, dsn := newBroker(t), "sqlite://"+filepath.Join(t.TempDir(), "r.db")
	asha, bilal := newService(t, "Asha", broker, dsn), newService(t, "Bilal", broker, dsn)
	ctx := t.Context()
	inv, err := asha.Create(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := bilal.Join(ctx, inv.Room, inv.Password); err != nil {
		t.Fatal(err)
	}
	room := string(inv.Room)

	// Every message Asha shows, as the Service tells its subscribers.
	events, _ := asha.Subscribe(1 << 16)

	dir, err := os.MkdirTemp("", "api")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "sunoye.sock")
	api := web.NewServer(asha, web.Info{Version: "test"}, testenv.TestLogger(t))
	sctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- api.ServeUnix(sctx, sock) }()
	t.Cleanup(func() { cancel(); <-served })
	c := web.NewClient(sock)
	waitFor(t, "the API to answer", func() bool { _, err := c.Status(ctx); return err == nil })

	var mu sync.Mutex
	followed := make(map[string]bool)
	ended := make(chan error, 1)
	fctx, fcancel := context.WithCancel(context.Background())
	defer fcancel()
	go func() {
		ended <- c.Follow(fctx, room, func(m web.MessageJSON) error {
			mu.Lock()
			followed[m.ID] = true
			mu.Unlock()
			return nil
		})
	}()
	// The stream is live once it has shown a message sent after it began:
	// a hello sent before the stream had subscribed is not in it, so say
	// hello again until one is.
	hellos := 0
	waitFor(t, "the stream to show a hello", func() bool {
		select {
		case err := <-ended:
			t.Fatalf("the follow ended before the stop: %v", err)
		default:
		}
		hellos++
		hello, err := bilal.Send(ctx, inv.Room, fmt.Sprintf("hello %d", hellos))
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			live := followed[hello.ID]
			mu.Unlock()
			if live {
				return true
			}
			time.Sleep(5 * time.Millisecond)
		}
		return false
	})

	// A burst, and Asha stops while she shows it.
	const n = 300
	for i := range n {
		if _, err := bilal.Send(ctx, inv.Room, fmt.Sprintf("m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	asha.Shutdown(ctx)
	select {
	case <-api.FollowsEnded():
	case <-time.After(30 * time.Second):
		t.Fatal("the message stream did not end after the stop")
	}
	select {
	case err := <-ended:
		if err != nil {
			t.Errorf("follow: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the follower did not see its stream end")
	}

	shown := 0
	for done := false; !done; {
		select {
		case e := <-events:
			if e.Kind != rooms.EventMessage || e.Room != inv.Room {
				continue
			}
			shown++
			mu.Lock()
			got := followed[e.Message.ID]
			mu.Unlock()
			if !got && !strings.HasPrefix(e.Message.Text, "hello ") {
				t.Errorf("%q was shown but did not reach the follower", e.Message.Text)
			}
		default:
			done = true
		}
	}
	t.Logf("%d messages shown before the stop, all followed", shown)
}
