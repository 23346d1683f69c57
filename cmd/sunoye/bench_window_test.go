package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sunoye/sunoye/chatview"
	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
	"github.com/sunoye/sunoye/web"
)

// windowSettle is how long windows are left to finish loading before
// their memory is read.
const windowSettle = 2 * time.Second

// BenchmarkWindowOpen is a click on a notification (or `sunoye open`), as
// far as SunOye is concerned: from asking the chat window manager
// (chatview.Manager, which the daemon uses) for a room's window — a
// WebKitGTK webview on Xvfb — to the page having fetched the room's
// history from the chat UI of a real Service.
//
// It compares, alternating in each iteration, the window process that
// hosts every window (what the daemon does) with the baseline of one
// window process per room (what it did before: each room's window its own
// process, with its own WebKit processes), for three rooms opened one
// after another. It reports the open times — the first window (cold:
// the process starts), the next two, one reopened after every window was
// closed (the process lingering), and the first after a notification
// pre-warmed the process — and the memory of one and of three rooms'
// windows, and of the lingering process without a window: PSS, summed
// over the window processes and their children (WebKit's web and network
// processes), which divides shared pages among the processes that share
// them and so does not count the libraries twice.
//
//	go test ./cmd/sunoye -run '^$' -bench WindowOpen -benchtime 5x -count 5
func BenchmarkWindowOpen(b *testing.B) {
	display := testenv.Xvfb(b)
	bus := testenv.SessionBus(b)
	windowBin := filepath.Join(filepath.Dir(testenv.Sunoye(b)), "sunoye-window")
	// The Manager passes its standard error to the window process, whose
	// WebKit warnings would interleave with the benchmark's result
	// lines: send those to a file.
	windowLog, err := os.Create(filepath.Join(b.TempDir(), "windows.log"))
	if err != nil {
		b.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = windowLog
	b.Cleanup(func() { os.Stderr = stderr; windowLog.Close() })
	b.Setenv("DISPLAY", display)
	b.Setenv("DBUS_SESSION_BUS_ADDRESS", bus)
	b.Setenv("NO_AT_BRIDGE", "1")

	m := testenv.StartMosquitto(b)
	dsn := testenv.MariaDB(b)
	asha, bilal := benchService(b, m.URL(), dsn, "Asha"), benchService(b, m.URL(), dsn, "Bilal")
	// Three rooms, each with a conversation to show: 30 messages in
	// Asha's history.
	var ids []rooms.ID
	events, cancel := asha.Subscribe(1024)
	for range 3 {
		inv, err := asha.Create(b.Context(), "")
		if err != nil {
			b.Fatal(err)
		}
		if err = bilal.Join(b.Context(), inv.Room, inv.Password); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, inv.Room)
		for i := range 30 {
			if _, err := bilal.Send(b.Context(), inv.Room, fmt.Sprintf("message %d of the conversation so far", i)); err != nil {
				b.Fatal(err)
			}
		}
	}
	for got := 0; got < 90; {
		if e := <-events; e.Kind == rooms.EventMessage {
			got++
		}
	}
	cancel()
	ui, fetched := observedUI(b, asha, ids...)

	newManager := func() *chatview.Manager {
		return chatview.NewManager(chatview.Options{Command: []string{windowBin}, Origin: ui.origin, Linger: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	}
	closeManager := func(m *chatview.Manager) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m.Close(ctx)
	}
	// open opens room i's window and returns how long it took to show.
	open := func(m *chatview.Manager, i int) time.Duration {
		id := ids[i]
		fetched[id].drain()
		start := time.Now()
		launch := func() string { return ui.launchURL(web.RoomView(id)) }
		if err := m.Open(context.Background(), "room/"+string(id), "Room "+string(id)+" — SunOye", launch); err != nil {
			b.Fatal(err)
		}
		return fetched[id].wait(b).Sub(start)
	}
	var logged bool
	memory := func(ms ...*chatview.Manager) (pssKiB int64) {
		time.Sleep(windowSettle)
		for _, m := range ms {
			_, pss, names := treeMemory(m.PID())
			pssKiB += pss
			logOnce(b, &logged, "window processes (one room): %v", names)
		}
		return pssKiB
	}

	type result struct {
		first, reopen, prewarmed time.Duration
		next                     []time.Duration
		pss1, pss3, pssIdle      int64 // KiB
	}
	shared := func() (r result) {
		m := newManager()
		defer closeManager(m)
		r.first = open(m, 0)
		r.pss1 = memory(m)
		r.next = []time.Duration{open(m, 1), open(m, 2)}
		r.pss3 = memory(m)
		// Closed, every one: the process lingers, and a window opens
		// in it again.
		// (A window may show a moment after its page fetched the
		// history: close what is open until nothing is.)
		for deadline := time.Now().Add(30 * time.Second); len(m.Windows()) > 0; time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatalf("windows still open after closing them: %v", m.Windows())
			}
			for _, key := range m.Windows() {
				for _, w := range testenv.Windows(b, display, "^Room "+strings.TrimPrefix(key, "room/")) {
					testenv.CloseWindow(b, display, w)
				}
			}
		}
		r.pssIdle = memory(m)
		r.reopen = open(m, 0)
		return r
	}
	perRoom := func() (r result) {
		ms := []*chatview.Manager{newManager(), newManager(), newManager()}
		for _, m := range ms {
			defer closeManager(m)
		}
		r.first = open(ms[0], 0)
		r.pss1 = memory(ms[0])
		r.next = []time.Duration{open(ms[1], 1), open(ms[2], 2)}
		r.pss3 = memory(ms...)
		return r
	}
	prewarmed := func() time.Duration {
		m := newManager()
		defer closeManager(m)
		if err := m.Prewarm(context.Background()); err != nil {
			b.Fatal(err)
		}
		time.Sleep(windowSettle) // a notification is read before it is clicked
		return open(m, 0)
	}

	// Warm-up: the first start reads the libraries from disk.
	perRoom()
	var sh, pr []result
	var pre []time.Duration
	n := 0
	for b.Loop() {
		if n%2 == 0 {
			sh, pr = append(sh, shared()), append(pr, perRoom())
		} else {
			pr, sh = append(pr, perRoom()), append(sh, shared())
		}
		pre = append(pre, prewarmed())
		n++
	}
	b.StopTimer()
	med := func(rs []result, f func(result) []time.Duration) time.Duration {
		var all []time.Duration
		for _, r := range rs {
			all = append(all, f(r)...)
		}
		return percentile(all, 50)
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	mb := func(d time.Duration) float64 { return float64(d) / 1024 } // KiB kept as Durations
	one := func(f func(result) time.Duration) func(result) []time.Duration {
		return func(r result) []time.Duration { return []time.Duration{f(r)} }
	}
	first, next := one(func(r result) time.Duration { return r.first }), func(r result) []time.Duration { return r.next }
	pss1, pss3 := one(func(r result) time.Duration { return time.Duration(r.pss1) }), one(func(r result) time.Duration { return time.Duration(r.pss3) })
	b.ReportMetric(ms(med(sh, first)), "shared-first-ms")
	b.ReportMetric(ms(med(sh, next)), "shared-next-ms")
	b.ReportMetric(ms(med(sh, one(func(r result) time.Duration { return r.reopen }))), "shared-reopen-ms")
	b.ReportMetric(ms(percentile(pre, 50)), "prewarmed-first-ms")
	b.ReportMetric(ms(med(pr, first)), "perroom-first-ms")
	b.ReportMetric(ms(med(pr, next)), "perroom-next-ms")
	b.ReportMetric(mb(med(sh, pss1)), "shared-1room-pss-MB")
	b.ReportMetric(mb(med(sh, pss3)), "shared-3rooms-pss-MB")
	b.ReportMetric(mb(med(sh, one(func(r result) time.Duration { return time.Duration(r.pssIdle) }))), "shared-0rooms-pss-MB")
	b.ReportMetric(mb(med(pr, pss1)), "perroom-1room-pss-MB")
	b.ReportMetric(mb(med(pr, pss3)), "perroom-3rooms-pss-MB")
	b.ReportMetric(ratio(med(sh, next), med(pr, next)), "shared/perroom-next")
	b.ReportMetric(ratio(med(sh, pss3), med(sh, pss1)), "shared-3/1-pss")
	b.ReportMetric(ratio(med(pr, pss3), med(pr, pss1)), "perroom-3/1-pss")
}

// uiUnderTest is the chat UI of a Service, served behind a reverse proxy
// that sees every request: the page's history fetch is how the benchmark
// knows that the window shows the room.
type uiUnderTest struct {
	ui     *web.UI
	origin string // the proxy's
}

// launchURL returns a one-time link to v through the proxy.
func (u uiUnderTest) launchURL(v web.View) string {
	return strings.Replace(u.ui.LaunchURL(v), u.ui.Origin(), u.origin, 1)
}

// fetches stamps each successful fetch of a room's history.
type fetches chan time.Time

// drain forgets earlier fetches: a page fetches the history again when
// its event stream (re)connects.
func (f fetches) drain() {
	for {
		select {
		case <-f:
		default:
			return
		}
	}
}

// wait returns the time of the next fetch.
func (f fetches) wait(b *testing.B) time.Time {
	b.Helper()
	select {
	case t := <-f:
		return t
	case <-time.After(60 * time.Second):
		b.Fatal("the page did not fetch the room's history within 60 s")
	}
	return time.Time{}
}

// observedUI serves svc's chat UI, and in front of it a proxy that
// forwards everything as if it had been sent to the UI itself (its Host
// and Origin checks see their own origin) and stamps every successful GET
// of each room's messages.
func observedUI(b *testing.B, svc *rooms.Service, ids ...rooms.ID) (uiUnderTest, map[rooms.ID]fetches) {
	b.Helper()
	log := slog.New(slog.DiscardHandler)
	api := web.NewServer(svc, web.Info{Version: "bench"}, log)
	ui, err := web.NewUI(svc, api, web.UIOptions{Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { ui.Serve(ctx); close(served) }()
	b.Cleanup(func() { cancel(); <-served })

	proxy := testenv.SameOriginProxy(b, ui.Origin())
	proxy.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelDebug)
	got := make(map[rooms.ID]fetches)
	history := make(map[string]fetches)
	for _, id := range ids {
		got[id] = make(fetches, 16)
		history["/v1/rooms/"+string(id)+"/messages"] = got[id]
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		proxy.ServeHTTP(sw, r)
		if f := history[r.URL.Path]; f != nil && r.Method == http.MethodGet && sw.status == http.StatusOK {
			select {
			case f <- time.Now():
			default: // nobody waits for this one; never block the handler
			}
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	return uiUnderTest{ui: ui, origin: "http://" + ln.Addr().String()}, got
}

// statusWriter remembers the response's status.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController flush the event stream.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logOnce logs the first time only, as told by *done.
func logOnce(b *testing.B, done *bool, format string, args ...any) {
	if !*done {
		*done = true
		b.Logf(format, args...)
	}
}

// BenchmarkDaemonWindows is the chat windows as the command line meets
// them, on a real daemon (not headless) on Xvfb: `sunoye open` until the
// room's window is on the screen (mapped), cold (no window process), for
// a second room while the first is open, and for a room reopened while
// the window process lingers with no window; and what the idle daemon
// costs (PSS of the daemon and its children) with no window process, with
// one lingering, and after the linger (3 s here) ended it. The baseline
// of the memory ratio is the daemon without a window process.
//
//	go test ./cmd/sunoye -run '^$' -bench DaemonWindows -benchtime 5x -count 5
func BenchmarkDaemonWindows(b *testing.B) {
	display := testenv.Xvfb(b)
	bus := testenv.SessionBus(b)
	const linger = 3 * time.Second
	d := testenv.StartDaemon(b, testenv.DaemonConfig{
		Broker: fmt.Sprintf("embedded://127.0.0.1:%d", testenv.FreePort(b)),
		DB:     "sqlite://" + filepath.Join(b.TempDir(), "registry.db"),
		Name:   "Asha", Args: []string{}, // not headless
		Env: []string{"DISPLAY=" + display, "DBUS_SESSION_BUS_ADDRESS=" + bus, "NO_AT_BRIDGE=1",
			lingerEnv + "=" + linger.String()},
	})
	var rooms []string
	for range 2 {
		r := d.Run(b, "create", "--json")
		var inv web.InviteJSON
		if err := json.Unmarshal([]byte(r.Stdout), &inv); r.Code != 0 || err != nil {
			b.Fatalf("create: %d %v %s", r.Code, err, r.Stderr)
		}
		rooms = append(rooms, inv.Room)
	}
	title := func(room string) string { return "^Room " + room }
	until := func(what string, ok func() bool) {
		for deadline := time.Now().Add(60 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	// open runs `sunoye open ROOM` and returns how long until its window
	// is on the screen.
	open := func(room string) time.Duration {
		start := time.Now()
		if r := d.Run(b, "open", room); r.Code != 0 {
			b.Fatalf("sunoye open: %d %s", r.Code, r.Stderr)
		}
		until("the window of room "+room, func() bool { return len(testenv.Windows(b, display, title(room))) == 1 })
		return time.Since(start)
	}
	closeAll := func() {
		for _, r := range rooms {
			for _, w := range testenv.Windows(b, display, title(r)) {
				testenv.CloseWindow(b, display, w)
			}
		}
		until("the windows to close", func() bool {
			return len(testenv.Windows(b, display, title(rooms[0]))) == 0 && len(testenv.Windows(b, display, title(rooms[1]))) == 0
		})
	}
	windowProcess := func() bool {
		for _, pid := range processTree(d.PID())[1:] {
			if testenv.ProcessName(pid) == "sunoye-window" {
				return true
			}
		}
		return false
	}
	pss := func() time.Duration { // KiB, as a Duration for percentile
		time.Sleep(windowSettle)
		_, p, _ := treeMemory(d.PID())
		return time.Duration(p)
	}

	var cold, next, reopen, alone, lingering, after []time.Duration
	for b.Loop() {
		until("no window process", func() bool { return !windowProcess() })
		alone = append(alone, pss())
		cold = append(cold, open(rooms[0]))
		next = append(next, open(rooms[1]))
		closeAll()
		lingering = append(lingering, pss())
		reopen = append(reopen, open(rooms[0]))
		closeAll()
		until("the window process to linger out", func() bool { return !windowProcess() })
		after = append(after, pss())
	}
	b.StopTimer()
	ms := func(ds []time.Duration) float64 { return float64(percentile(ds, 50).Microseconds()) / 1000 }
	mb := func(ds []time.Duration) float64 { return float64(percentile(ds, 50)) / 1024 }
	b.ReportMetric(ms(cold), "open-cold-ms")
	b.ReportMetric(ms(next), "open-next-ms")
	b.ReportMetric(ms(reopen), "open-lingering-ms")
	b.ReportMetric(mb(alone), "daemon-pss-MB")
	b.ReportMetric(mb(lingering), "daemon+lingering-pss-MB")
	b.ReportMetric(mb(after), "daemon-after-linger-pss-MB")
	b.ReportMetric(ratio(percentile(lingering, 50), percentile(alone, 50)), "lingering/alone-pss")
}
