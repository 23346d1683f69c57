package window

import (
	"context"
	"fmt"
	"image"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sunoye/sunoye/chatview"
	"github.com/sunoye/sunoye/internal/testenv"
)

func TestMain(m *testing.M) {
	// The Manager starts this test binary as its window process: it must
	// run on the main goroutine, which TestMain is on.
	if os.Getenv(chatview.HostEnv) != "" {
		in, out, err := Stdio()
		if err == nil {
			err = Serve(in, out)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "window:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	testenv.Main(m)
}

// A page with one big coloured block and some text, and a counter of
// requests per path, so the test can tell the windows loaded it.
func testPage(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// As the chat UI does, on every answer: a window must not
		// need it relaxed.
		w.Header().Set("Cross-Origin-Opener-Policy", "same-origin")
		if r.URL.Path != "/" {
			http.NotFound(w, r) // the favicon, the anchor's page
			return
		}
		hits.Add(1)
		fmt.Fprint(w, `<!doctype html><body style="margin:0;background:#1d6fd8;font:32px sans-serif;color:#fff">
<h1 style="background:#f4b400;margin:0;padding:40px">SunOye test window</h1><p>Lorem ipsum dolor sit amet</p></body>`)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func newTestManager(t *testing.T, display string, linger time.Duration) *chatview.Manager {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("DISPLAY", display)
	t.Setenv("NO_AT_BRIDGE", "1")
	m := chatview.NewManager(chatview.Options{
		Command: []string{self, "-test.run=^$"},
		Linger:  linger,
		// Generous under load; the hung-process test sets its own.
		StartTimeout: 60 * time.Second, ReplyTimeout: 20 * time.Second,
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m.Close(ctx)
	})
	return m
}

func open(t *testing.T, m *chatview.Manager, room, url string) {
	t.Helper()
	if err := m.Open(t.Context(), "room/"+room, "Room "+room+" — SunOye", func() string { return url }); err != nil {
		t.Fatal(err)
	}
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
	m := newTestManager(t, display, time.Hour)
	open(t, m, "482913057", srv.URL)
	waitFor(t, 30*time.Second, "the window to load the page", func() bool { return hits.Load() >= 1 })
	waitFor(t, 30*time.Second, "the page to be drawn", func() bool {
		img := testenv.Screenshot(t, display, "chatview-test")
		return testenv.Colors(img, image.Rect(0, 0, Width, Height)) > 8
	})
	open(t, m, "482913057", srv.URL) // again: the same window comes to the front
	// Open returns once the window process has answered; a second
	// window would have been made by then, and its page requested soon.
	time.Sleep(500 * time.Millisecond)
	if got := m.Windows(); len(got) != 1 || got[0] != "room/482913057" {
		t.Errorf("windows = %v, want just the one", got)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("the page was loaded %d times, want once", n)
	}
	if ids := testenv.Windows(t, display, "482913057"); len(ids) != 1 {
		t.Errorf("%d windows titled for the room, want 1", len(ids))
	}

	// Closed, it opens again in the same process (whose web engine
	// started afresh when its last window closed), in one web process.
	pid := m.PID()
	testenv.CloseWindow(t, display, testenv.Windows(t, display, "482913057")[0])
	waitFor(t, 20*time.Second, "the window to close", func() bool { return len(m.Windows()) == 0 })
	open(t, m, "482913057", srv.URL)
	waitFor(t, 30*time.Second, "the page again", func() bool { return hits.Load() >= 2 })
	if m.PID() != pid {
		t.Errorf("the window reopened in process %d, want %d", m.PID(), pid)
	}
	// (The old one is on its way out.)
	waitFor(t, 20*time.Second, "one web process", func() bool { return webProcesses(pid) == 1 })

	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	m.Close(ctx)
	if got := m.Windows(); len(got) != 0 {
		t.Errorf("windows after Close = %v", got)
	}
	if ids := testenv.Windows(t, display, "482913057"); len(ids) != 0 {
		t.Errorf("the window is still on the screen after Close")
	}
}

// Three rooms' windows are three windows of one process, each titled with
// its room, sharing one web process; closing them keeps nothing else
// open, and the process ends a linger after the last one closed.
func TestRoomsShareOneWindowProcess(t *testing.T) {
	display := testenv.Xvfb(t)
	srv, hits := testPage(t)
	const linger = 2 * time.Second
	m := newTestManager(t, display, linger)
	rooms := []string{"111111111", "222222222", "333333333"}
	var pid int
	for _, r := range rooms {
		open(t, m, r, srv.URL)
		if pid == 0 {
			pid = m.PID()
		}
		if got := m.PID(); got != pid || pid == 0 {
			t.Fatalf("the window process is %d after room %s, was %d: want one for all", got, r, pid)
		}
	}
	waitFor(t, 30*time.Second, "three pages", func() bool { return hits.Load() >= 3 })
	if got := m.Windows(); !slices.Equal(got, []string{"room/111111111", "room/222222222", "room/333333333"}) {
		t.Errorf("windows = %v", got)
	}
	for _, r := range rooms {
		ids := testenv.Windows(t, display, r)
		if len(ids) != 1 {
			t.Fatalf("%d windows for room %s, want 1", len(ids), r)
		}
		if title := testenv.WindowTitle(t, display, ids[0]); title != "Room "+r+" — SunOye" {
			t.Errorf("room %s's window is titled %q", r, title)
		}
	}
	// One web process for all (WebKit makes one per view, unless
	// popups of a same-origin page).
	if n := webProcesses(pid); n != 1 {
		t.Errorf("%d WebKit web processes for three windows, want 1 (shared)", n)
	}

	// Closing a window (as its close button does) closes only it.
	testenv.CloseWindow(t, display, testenv.Windows(t, display, rooms[0])[0])
	waitFor(t, 20*time.Second, "the first window to close", func() bool { return len(m.Windows()) == 2 })
	if ids := testenv.Windows(t, display, rooms[1]); len(ids) != 1 {
		t.Errorf("closing room %s's window closed room %s's too", rooms[0], rooms[1])
	}
	// It opens again in the same process.
	open(t, m, rooms[0], srv.URL)
	if got := m.PID(); got != pid {
		t.Errorf("reopening a window started process %d; want it in %d", got, pid)
	}
	for _, r := range rooms {
		testenv.CloseWindow(t, display, testenv.Windows(t, display, r)[0])
	}
	waitFor(t, 20*time.Second, "all windows to close", func() bool { return len(m.Windows()) == 0 })
	closedAt := time.Now()
	if m.PID() != pid || !testenv.Alive(pid) {
		t.Fatalf("the window process ended with its last window; it should linger for %v", linger)
	}
	waitFor(t, 30*time.Second, "the window process to end after its linger", func() bool { return !testenv.Alive(pid) })
	if waited := time.Since(closedAt); waited < linger/2 {
		t.Errorf("the window process ended %v after the last window, before its linger of %v", waited, linger)
	}
	if m.PID() != 0 {
		t.Errorf("the manager still has a window process")
	}
	// The next open starts a new one.
	open(t, m, rooms[2], srv.URL)
	if got := m.PID(); got == 0 || got == pid {
		t.Errorf("window process after the linger: %d (old %d)", got, pid)
	}
}

// A window process that was killed (a crash, the OOM killer) is replaced
// at the next open; one that hangs fails that open within the reply
// timeout, not the daemon, and is replaced at the next.
func TestWindowProcessKilledOrHung(t *testing.T) {
	display := testenv.Xvfb(t)
	srv, hits := testPage(t)
	m := newTestManager(t, display, time.Hour)
	open(t, m, "111111111", srv.URL)
	waitFor(t, 30*time.Second, "the window to load the page", func() bool { return hits.Load() >= 1 })
	pid := m.PID()
	syscall.Kill(pid, syscall.SIGKILL)
	waitFor(t, 20*time.Second, "the killed window process to be seen gone", func() bool { return m.PID() == 0 })
	if got := m.Windows(); len(got) != 0 {
		t.Errorf("windows of a killed process: %v", got)
	}
	open(t, m, "111111111", srv.URL)
	waitFor(t, 30*time.Second, "the new window to load the page", func() bool { return hits.Load() >= 2 })
	if ids := testenv.Windows(t, display, "111111111"); len(ids) != 1 {
		t.Errorf("%d windows for the room after the restart, want 1", len(ids))
	}

	// Frozen: the next open fails within the reply timeout.
	hung := chatview.NewManager(chatview.Options{
		Command:      []string{os.Args[0], "-test.run=^$"},
		StartTimeout: 60 * time.Second, ReplyTimeout: time.Second,
	})
	defer hung.Close(context.Background())
	if err := hung.Open(t.Context(), "room/1", "Room 1", func() string { return srv.URL }); err != nil {
		t.Fatal(err)
	}
	frozen := hung.PID()
	syscall.Kill(frozen, syscall.SIGSTOP)
	start := time.Now()
	err := hung.Open(t.Context(), "room/2", "Room 2", func() string { return srv.URL })
	if took := time.Since(start); err == nil || took > 10*time.Second {
		t.Fatalf("open on a frozen window process: %v after %v; want an error within the reply timeout", err, took)
	}
	waitFor(t, 20*time.Second, "the frozen window process to be ended", func() bool { return !testenv.Alive(frozen) })
	if err := hung.Open(t.Context(), "room/2", "Room 2", func() string { return srv.URL }); err != nil {
		t.Fatalf("open after a frozen window process was ended: %v", err)
	}
	if got := hung.PID(); got == 0 || got == frozen {
		t.Errorf("window process after the frozen one: %d", got)
	}
}

// A crash of the web engine (its web process killed) closes the windows
// it drew, not the window process; the next open works in the same one.
func TestWebProcessCrash(t *testing.T) {
	display := testenv.Xvfb(t)
	srv, hits := testPage(t)
	m := newTestManager(t, display, time.Hour)
	open(t, m, "111111111", srv.URL)
	open(t, m, "222222222", srv.URL)
	waitFor(t, 30*time.Second, "two pages", func() bool { return hits.Load() >= 2 })
	pid := m.PID()
	// One web process draws both (one that WebKit swapped out at a first
	// navigation may take a moment to end on a busy machine).
	var web []int
	waitFor(t, 20*time.Second, "one live web process", func() bool {
		web = web[:0]
		for _, p := range testenv.ProcessTree(pid)[1:] {
			if testenv.ProcessName(p) == webProcessName && testenv.Alive(p) {
				web = append(web, p)
			}
		}
		return len(web) == 1
	})
	syscall.Kill(web[0], syscall.SIGKILL)
	waitFor(t, 20*time.Second, "the crashed engine's windows to close", func() bool { return len(m.Windows()) == 0 })
	if ids := testenv.Windows(t, display, "^Room "); len(ids) != 0 {
		t.Errorf("%d windows still on the screen", len(ids))
	}
	open(t, m, "111111111", srv.URL)
	waitFor(t, 30*time.Second, "the page again", func() bool { return hits.Load() >= 3 })
	if got := m.PID(); got != pid {
		t.Errorf("window process %d after the engine's crash, want the same, %d", got, pid)
	}
}

// Without a display there is no window, and a clear error instead of the
// crash GTK would cause.
func TestNoDisplay(t *testing.T) {
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	m := chatview.NewManager(chatview.Options{Command: []string{"/bin/false"}})
	if err := m.Open(t.Context(), "k", "t", func() string { return "http://127.0.0.1:1/" }); err != chatview.ErrNoDisplay {
		t.Errorf("Open without a display: %v, want ErrNoDisplay", err)
	}
	if err := Serve(strings.NewReader(""), new(strings.Builder)); err != chatview.ErrNoDisplay && Native {
		t.Errorf("Serve without a display: %v, want ErrNoDisplay", err)
	}
}

// webProcessName is WebKitWebProcess as /proc/PID/comm has it: cut at 15.
const webProcessName = "WebKitWebProces"

// webProcesses counts the live WebKit web processes under pid.
func webProcesses(pid int) int {
	n := 0
	for _, p := range testenv.ProcessTree(pid)[1:] {
		if testenv.ProcessName(p) == webProcessName && testenv.Alive(p) {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
