package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/sunoye/sunoye/internal/roomstest"
	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
	"github.com/sunoye/sunoye/web"
)

// startUI serves the chat UI of svc until the test ends.
func startUI(t testing.TB, svc *rooms.Service, opt web.UIOptions) *web.UI {
	t.Helper()
	if opt.Logger == nil {
		opt.Logger = testenv.TestLogger(t)
	}
	api := web.NewServer(svc, web.Info{Version: "test"}, opt.Logger)
	api.SetEstimator(estimate)
	ui, err := web.NewUI(svc, api, opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ui.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ui
}

// twoMembers returns Asha's and Bilal's Services on one broker and
// registry, both in a room Asha created, each seeing the other present.
func twoMembers(t testing.TB) (asha, bilal *rooms.Service, room rooms.ID) {
	t.Helper()
	broker, dsn := tbBroker(t), "sqlite://"+filepath.Join(t.TempDir(), "r.db")
	asha, bilal = tbService(t, "Asha", broker, dsn), tbService(t, "Bilal", broker, dsn)
	inv, err := asha.Create(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := bilal.Join(context.Background(), inv.Room, inv.Password); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Asha to see Bilal present", func() bool {
		in, err := asha.Room(inv.Room)
		return err == nil && len(in.Members) == 2
	})
	return asha, bilal, inv.Room
}

// tbService is newService for tests and benchmarks alike; its Run loop
// (heartbeat, notifications) runs until the test ends.
func tbService(t testing.TB, name, broker, dsn string) *rooms.Service {
	t.Helper()
	return roomstest.NewService(t, roomstest.Config{Name: name, Broker: broker, DB: dsn, Run: true})
}

// tbBroker is newBroker for tests and benchmarks alike.
func tbBroker(t testing.TB) string { return roomstest.StartBroker(t) }

// waitFor polls cond until it holds, failing the test after a deadline
// generous enough for a loaded two-core machine.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// launchSession exchanges a launch URL's token for a session the way the
// page does (POST /v1/session from its own origin) and returns the
// session token and the view the answer names.
func launchSession(t testing.TB, ui *web.UI, v web.View) (token string, view string) {
	t.Helper()
	tok := launchToken(t, ui.LaunchURL(v))
	resp, err := exchange(ui, tok)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s web.SessionJSON
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || resp.StatusCode != http.StatusCreated || s.Session == "" {
		t.Fatalf("POST /v1/session: %s %+v %v", resp.Status, s, err)
	}
	return s.Session, s.View
}

// launchToken returns the one-time token in a launch URL's fragment.
func launchToken(t testing.TB, launch string) string {
	t.Helper()
	u, err := url.Parse(launch)
	if err != nil {
		t.Fatal(err)
	}
	tok, ok := strings.CutPrefix(u.Fragment, "launch=")
	if !ok || u.Path != "/" || u.RawQuery != "" {
		t.Fatalf("launch URL %s: want /#launch=TOKEN", launch)
	}
	return tok
}

// exchange posts a launch token to /v1/session as the page does.
func exchange(ui *web.UI, tok string) (*http.Response, error) {
	body, _ := json.Marshal(web.SessionRequest{Launch: tok})
	req, err := http.NewRequest(http.MethodPost, ui.Origin()+"/v1/session", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", ui.Origin())
	return (&http.Client{Timeout: 30 * time.Second}).Do(req)
}

// sessionClient opens a launch URL the way a window does and returns an
// HTTP client that sends the session with every request (redirects not
// followed).
func sessionClient(t testing.TB, ui *web.UI, v web.View) *http.Client {
	t.Helper()
	token, _ := launchSession(t, ui, v)
	return bearerClient(token)
}

// bearerClient returns an HTTP client that sends token as the session.
func bearerClient(token string) *http.Client {
	return &http.Client{
		Transport:     bearerTransport(token),
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type bearerTransport string

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(r)
}

// browser starts a headless Chromium for the test and returns a chromedp
// context whose actions fail after timeout.
func browser(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	path, flags := testenv.Chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.WindowSize(1000, 700),
		// Keep timers and rendering running at full speed in a page that
		// no one looks at.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
	}
	for _, f := range flags {
		name, value, hasValue := strings.Cut(strings.TrimPrefix(f, "--"), "=")
		if hasValue {
			opts = append(opts, chromedp.Flag(name, value))
		} else {
			opts = append(opts, chromedp.Flag(name, true))
		}
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	// Start the browser now, outside the actions' deadline.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	t.Cleanup(cancel)
	return tctx
}

// act runs chromedp actions, failing the test with what on error.
func act(t testing.TB, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v%s", what, err, pageDump(ctx))
	}
}

// value runs one chromedp action and returns its value.
func value[T any](t testing.TB, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v%s", what, err, pageDump(ctx))
	}
	return v
}

// until polls a JavaScript expression in the page until it is truthy and
// returns its value.
func until[T any](t testing.TB, ctx context.Context, what, expr string) T {
	t.Helper()
	return value(t, ctx, "waiting for "+what, chromedp.Poll[T](expr, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(45*time.Second)))
}

// pageDump returns the page's main element, for failure messages: what
// the user would have seen.
func pageDump(ctx context.Context) string {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	html, err := chromedp.Run(dctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		return ""
	}
	return "\nthe page shows:\n" + html
}

// pressEnter presses Enter (with Shift if shift is set) in the focused
// element the way a keyboard does: one keyDown that carries the text, so
// that the page's keydown handler can cancel the new line as a real key
// press lets it.
func pressEnter(shift bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		var mods int64
		if shift {
			mods = int64(chromedp.ModifierShift)
		}
		for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeKeyDown, input.DispatchKeyEventTypeKeyUp} {
			p := input.DispatchKeyEventParams{
				Type: typ, Key: "Enter", Code: "Enter", Modifiers: mods,
				WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13,
			}
			if typ == input.DispatchKeyEventTypeKeyDown {
				p.Text, p.UnmodifiedText = "\r", "\r"
			}
			if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, p); err != nil {
				return err
			}
		}
		return nil
	})
}

// checkScreenshot checks that a PNG shows something (more than a handful
// of colours: text is antialiased) and saves it as name in
// $SUNOYE_SCREENSHOT_DIR when that is set.
func checkScreenshot(t testing.TB, shot []byte, name string) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	colours := make(map[[4]uint32]struct{})
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, a := img.At(x, y).RGBA()
			colours[[4]uint32{r, g, bl, a}] = struct{}{}
		}
	}
	const minColours = 32
	if len(colours) < minColours {
		t.Errorf("screenshot %s has %d distinct colours (want at least %d): the page looks blank", name, len(colours), minColours)
	}
	if dir := os.Getenv("SUNOYE_SCREENSHOT_DIR"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot saved to %s", p)
	}
}
