package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sunoye/sunoye/chatview"
	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
	"github.com/sunoye/sunoye/web"
)

// windowSettle is how long a window is left to finish loading before its
// memory is read.
const windowSettle = 2 * time.Second

// BenchmarkWindowOpen is a click on a notification, as far as SunOye is
// concerned: from asking the chat window manager (chatview.Manager, which
// the daemon uses) for a room's window — a new sunoye-window process, a
// WebKitGTK webview on Xvfb — to the page having fetched the room's
// history from the chat UI of a real Service. The baseline, in the same
// iterations, is the same URL opened by a new headless Chromium.
//
// It also reports the memory of each, summed over the process and its
// children (WebKit's web and network processes; Chromium's renderer,
// zygotes and utilities): RSS, and PSS, which divides shared pages among
// the processes that share them and so does not count the libraries
// twice.
//
//	go test ./cmd/sunoye -run '^$' -bench WindowOpen -benchtime 5x -count 5
func BenchmarkWindowOpen(b *testing.B) {
	display := testenv.Xvfb(b)
	bus := testenv.SessionBus(b)
	chromium, chromiumFlags := testenv.Chromium(b)
	windowBin := filepath.Join(filepath.Dir(testenv.Sunoye(b)), "sunoye-window")
	// The Manager passes its own environment to the windows, and its
	// standard error, which WebKit's warnings would interleave with the
	// benchmark's result lines: send those to a file.
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
	inv, err := asha.Create(b.Context(), "")
	if err != nil {
		b.Fatal(err)
	}
	if err = bilal.Join(b.Context(), inv.Room, inv.Password); err != nil {
		b.Fatal(err)
	}
	// A conversation to show: 30 messages in Asha's history.
	events, cancel := asha.Subscribe(1024)
	for i := range 30 {
		if _, err := bilal.Send(b.Context(), inv.Room, fmt.Sprintf("message %d of the conversation so far", i)); err != nil {
			b.Fatal(err)
		}
	}
	for got := 0; got < 30; {
		if e := <-events; e.Kind == rooms.EventMessage {
			got++
		}
	}
	cancel()

	ui, fetched := observedUI(b, asha, inv.Room)
	launch := func() string { return ui.launchURL(web.RoomView(inv.Room)) }

	type result struct {
		open           time.Duration
		rssKiB, pssKiB int64
	}
	var loggedWebview, loggedChromium bool
	webview := func(b *testing.B) result {
		mgr := chatview.NewManager(chatview.Options{Command: []string{windowBin}, Logger: slog.New(slog.DiscardHandler)})
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			mgr.Close(ctx)
		}()
		fetched.drain()
		start := time.Now()
		if err := mgr.Open(context.Background(), "room/"+string(inv.Room), "SunOye — room "+string(inv.Room), launch); err != nil {
			b.Fatal(err)
		}
		r := result{open: fetched.wait(b).Sub(start)}
		b.StopTimer()
		defer b.StartTimer()
		time.Sleep(windowSettle)
		pid := childNamed(b, "sunoye-window")
		var names []string
		r.rssKiB, r.pssKiB, names = treeMemory(pid)
		logOnce(b, &loggedWebview, "webview processes: %v", names)
		return r
	}
	headless := func(b *testing.B) result {
		cmd := exec.Command(chromium, append(chromiumFlags, launch())...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // to end its helpers with it
		fetched.drain()
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		defer func() {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
		}()
		r := result{open: fetched.wait(b).Sub(start)}
		b.StopTimer()
		defer b.StartTimer()
		time.Sleep(windowSettle)
		var names []string
		r.rssKiB, r.pssKiB, names = treeMemory(cmd.Process.Pid)
		logOnce(b, &loggedChromium, "chromium processes: %v", names)
		return r
	}

	// Warm-up: the first start of each reads its libraries from disk.
	webview(b)
	headless(b)
	var opens [2][]time.Duration
	var rss, pss [2][]time.Duration // KiB, kept as Durations for percentile
	n := 0
	for b.Loop() {
		for k := range 2 {
			i := (n + k) % 2
			var r result
			if i == 0 {
				r = webview(b)
			} else {
				r = headless(b)
			}
			opens[i] = append(opens[i], r.open)
			rss[i] = append(rss[i], time.Duration(r.rssKiB))
			pss[i] = append(pss[i], time.Duration(r.pssKiB))
		}
		n++
	}
	b.StopTimer()
	for i, name := range []string{"webview", "chromium"} {
		b.ReportMetric(float64(percentile(opens[i], 50).Microseconds())/1000, name+"-open-p50-ms")
		b.ReportMetric(float64(percentile(rss[i], 50))/1024, name+"-rss-MB")
		b.ReportMetric(float64(percentile(pss[i], 50))/1024, name+"-pss-MB")
	}
	b.ReportMetric(ratio(percentile(opens[0], 50), percentile(opens[1], 50)), "webview/chromium-open")
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
// of room's messages.
func observedUI(b *testing.B, svc *rooms.Service, room rooms.ID) (uiUnderTest, fetches) {
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
	got := make(fetches, 16)
	history := "/v1/rooms/" + string(room) + "/messages"
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		proxy.ServeHTTP(sw, r)
		if r.Method == http.MethodGet && r.URL.Path == history && sw.status == http.StatusOK {
			select {
			case got <- time.Now():
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

// childNamed returns the pid of this process's child called name.
func childNamed(b *testing.B, name string) int {
	b.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, pid := range processTree(os.Getpid())[1:] {
			comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
			if strings.TrimSpace(string(comm)) == name {
				return pid
			}
		}
		if time.Now().After(deadline) {
			b.Fatal(errors.New("no process " + name + " among this process's children"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
