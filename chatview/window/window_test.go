package window

import (
	"context"
	"fmt"
	"image"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sunoye/sunoye/chatview"
	"github.com/sunoye/sunoye/internal/testenv"
)

// windowEnv makes the test binary act as sunoye-window: a window must
// run on the main goroutine, which TestMain is on.
const windowEnv = "CHATVIEW_TEST_WINDOW"

func TestMain(m *testing.M) {
	if os.Getenv(windowEnv) != "" {
		// The Manager passes the title as the last argument.
		title := os.Args[len(os.Args)-1]
		if err := Run(os.Getenv(chatview.URLEnv), title, os.Stdin); err != nil {
			fmt.Fprintln(os.Stderr, "window:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	testenv.Main(m)
}

// A page with one big coloured block and some text, and a counter of
// requests, so the test can tell the window loaded it.
func testPage(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, `<!doctype html><body style="margin:0;background:#1d6fd8;font:32px sans-serif;color:#fff">
<h1 style="background:#f4b400;margin:0;padding:40px">SunOye test window</h1><p>Lorem ipsum dolor sit amet</p></body>`)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func newTestManager(t *testing.T, display string) *chatview.Manager {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("DISPLAY", display)
	t.Setenv(windowEnv, "x") // the child runs RunWindow
	m := chatview.NewManager(chatview.Options{Command: []string{self, "-test.run=^$"}})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m.Close(ctx)
	})
	return m
}

// The real window opens on an X server and renders the page; opening the
// same key again brings it to the front instead of a second window;
// closing the manager closes it.
func TestWindowOpensOncePerKey(t *testing.T) {
	if !Native {
		t.Fatal("this build has no webview; build with cgo on Linux (it is the default)")
	}
	display := testenv.Xvfb(t)
	srv, hits := testPage(t)
	m := newTestManager(t, display)
	open := func() {
		if err := m.Open(t.Context(), "room/482913057", "SunOye — 482913057", func() string { return srv.URL }); err != nil {
			t.Fatal(err)
		}
	}
	open()
	waitFor(t, 30*time.Second, "the window to load the page", func() bool { return hits.Load() >= 1 })
	waitFor(t, 30*time.Second, "the page to be drawn", func() bool {
		img := testenv.Screenshot(t, display, "chatview-test")
		return testenv.Colors(img, image.Rect(0, 0, Width, Height)) > 8
	})
	open() // again: the same window comes to the front
	time.Sleep(500 * time.Millisecond)
	if got := m.Windows(); len(got) != 1 || got[0] != "room/482913057" {
		t.Errorf("windows = %v, want just the one", got)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("the page was loaded %d times, want once", n)
	}
	out, err := exec.Command(testenv.NeedBinary(t, "xdotool", "xdotool"), "search", "--name", "482913057").Output()
	if n := len(strings.Fields(string(out))); err != nil || n != 1 {
		t.Errorf("%d windows titled for the room (%v), want 1", n, err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	m.Close(ctx)
	if got := m.Windows(); len(got) != 0 {
		t.Errorf("windows after Close = %v", got)
	}
}

// Without a display there is no window, and a clear error instead of the
// crash webview.New would cause.
func TestNoDisplay(t *testing.T) {
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	m := chatview.NewManager(chatview.Options{Command: []string{"/bin/false"}})
	if err := m.Open(t.Context(), "k", "t", func() string { return "http://127.0.0.1:1/" }); err != chatview.ErrNoDisplay {
		t.Errorf("Open without a display: %v, want ErrNoDisplay", err)
	}
	if err := Run("http://127.0.0.1:1/", "t", strings.NewReader("")); err != chatview.ErrNoDisplay && Native {
		t.Errorf("Run without a display: %v, want ErrNoDisplay", err)
	}
}

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
