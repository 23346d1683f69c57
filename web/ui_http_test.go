package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
	"github.com/sunoye/sunoye/web"
)

// The headers every answer carries, refusals included.
func checkSecurityHeaders(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: Content-Security-Policy %q lacks %q", what, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: Content-Security-Policy allows inline code: %q", what, csp)
	}
	for h, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"Cache-Control":          "no-store",
	} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s: %s = %q, want %q", what, h, got, want)
		}
	}
}

func get(t *testing.T, hc *http.Client, u string, header map[string]string) *http.Response {
	t.Helper()
	return do(t, hc, http.MethodGet, u, "", header)
}

func do(t *testing.T, hc *http.Client, method, u, body string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func noRedirects() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// A launch URL carries its token in the fragment, which no request line
// holds; the token works once, exchanged by the page for a session that
// is not a cookie. Without the session the page loads (it holds nothing
// secret) but the API answers nothing.
func TestUILaunchTokenIsSpentOnFirstUse(t *testing.T) {
	asha, _, room := twoMembers(t)
	var logged testenv.LogBuffer
	ui := startUI(t, asha, web.UIOptions{Logger: slog.New(slog.NewTextHandler(io.MultiWriter(&logged, testenv.TestLog(t)), &slog.HandlerOptions{Level: slog.LevelDebug}))})
	hc := noRedirects()

	launch := ui.LaunchURL(web.RoomView(room))
	if !strings.HasPrefix(launch, ui.Origin()+"/#launch=") || !strings.HasPrefix(ui.Origin(), "http://127.0.0.1:") {
		t.Errorf("launch URL %s: want %s/#launch=TOKEN", launch, ui.Origin())
	}
	tok := launchToken(t, launch)
	if len(tok) < 43 { // 32 bytes in base64
		t.Errorf("launch token %q is shorter than 32 random bytes", tok)
	}

	// Loading the link (a browser, a link preview) sends no token: the
	// page loads, and the token is not spent.
	for _, method := range []string{http.MethodHead, http.MethodGet} {
		resp := do(t, hc, method, launch, "", nil)
		checkSecurityHeaders(t, method+" launch URL", resp)
		if resp.StatusCode != http.StatusOK || len(resp.Cookies()) != 0 {
			t.Errorf("%s of a launch URL: %s, cookies %v; want 200 and none", method, resp.Status, resp.Cookies())
		}
	}
	if resp := get(t, hc, ui.Origin()+"/v1/session", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /v1/session: %s, want 405", resp.Status)
	}

	resp, err := exchange(ui, tok)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	checkSecurityHeaders(t, "session", resp)
	var s web.SessionJSON
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("exchange the launch token: %s %v", resp.Status, err)
	}
	if s.View != "room/"+string(room) || len(s.Session) < 43 || s.Session == tok {
		t.Errorf("session answer %+v: want a fresh 32-byte token and the room's view", s)
	}
	if len(resp.Cookies()) != 0 || resp.Header.Get("Set-Cookie") != "" {
		t.Errorf("the session exchange set cookies: %v", resp.Header.Values("Set-Cookie"))
	}
	withSession := map[string]string{"Authorization": "Bearer " + s.Session}

	if again, err := exchange(ui, tok); err != nil {
		t.Fatal(err)
	} else if again.Body.Close(); again.StatusCode != http.StatusForbidden {
		t.Errorf("launch token used twice: %s, want 403", again.Status)
	}

	api := []string{"/v1/rooms", "/v1/rooms/" + string(room) + "/invite", "/v1/settings", "/v1/events?client=abcdefgh12"}
	for _, path := range api {
		for name, h := range map[string]map[string]string{
			"no session":                      nil,
			"a forged session":                {"Authorization": "Bearer forged"},
			"the launch token":                {"Authorization": "Bearer " + tok},
			"the session in a cookie":         {"Cookie": "sunoye_" + strings.TrimPrefix(ui.Origin(), "http://127.0.0.1:") + "=" + s.Session},
			"the session without Bearer":      {"Authorization": s.Session},
			"the session in the query string": nil,
		} {
			u := ui.Origin() + path
			if name == "the session in the query string" {
				u += map[bool]string{true: "&", false: "?"}[strings.Contains(path, "?")] + "session=" + s.Session
			}
			resp := get(t, hc, u, h)
			checkSecurityHeaders(t, path+" with "+name, resp)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("GET %s with %s: %s, want 401 asking for a bearer token", path, name, resp.Status)
			}
			if inv, _ := asha.InviteFor(room); strings.Contains(string(body), inv.Password) {
				t.Errorf("GET %s with %s disclosed the room's password", path, name)
			}
		}
	}

	// The page, to anyone; the API with the session.
	for _, path := range []string{"/", "/app.js", "/app.css"} {
		resp := get(t, hc, ui.Origin()+path, nil)
		checkSecurityHeaders(t, path, resp)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", path, resp.Status)
		}
	}
	if resp := do(t, hc, http.MethodPost, ui.Origin()+"/", "{}", withSession); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %s, want 405", resp.Status)
	}
	page, _ := io.ReadAll(get(t, hc, ui.Origin()+"/", nil).Body)
	if !strings.Contains(string(page), `<script src="app.js" type="module">`) {
		t.Errorf("GET /: %.200s", page)
	}
	// The scripts are ES modules: a browser runs them only when they come
	// with a JavaScript type, whatever the system's MIME table says.
	scripts, err := filepath.Glob("assets/*.js")
	if err != nil || len(scripts) < 2 {
		t.Fatalf("the scripts in assets/: %v %v", scripts, err)
	}
	for _, f := range scripts {
		resp := get(t, hc, ui.Origin()+"/"+filepath.Base(f), nil)
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/javascript; charset=utf-8" {
			t.Errorf("GET /%s: %s, Content-Type %q; want 200, text/javascript", filepath.Base(f), resp.Status, ct)
		}
	}
	if strings.Contains(string(page), "<script>") || strings.Contains(string(page), " style=") {
		t.Errorf("the page has inline script or style, which the CSP would block")
	}
	resp = get(t, hc, ui.Origin()+"/v1/rooms/"+string(room), withSession)
	checkSecurityHeaders(t, "API", resp)
	var r web.RoomJSON
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Room != string(room) || r.Members != 2 {
		t.Errorf("GET room with the session: %s %+v %v", resp.Status, r, err)
	}

	// The refusals were logged, without the secrets.
	log := logged.String()
	if !strings.Contains(log, "chat UI request refused") {
		t.Errorf("refusals were not logged:\n%s", log)
	}
	if strings.Contains(log, tok) || strings.Contains(log, s.Session) {
		t.Errorf("the log holds the launch token or the session:\n%s", log)
	}
}

// A launch URL that waited too long is refused, and stays refused.
func TestUILaunchTokenExpires(t *testing.T) {
	asha, _, room := twoMembers(t)
	clock := web.NewTestClock()
	const ttl = time.Minute
	ui := startUI(t, asha, web.UIOptions{LaunchTTL: ttl, Now: clock.Now})
	launch := launchToken(t, ui.LaunchURL(web.RoomView(room)))
	fresh := launchToken(t, ui.LaunchURL(web.RoomView(room)))
	clock.Advance(ttl + time.Second)
	status := func(tok string) int {
		resp, err := exchange(ui, tok)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 2 {
		if got := status(launch); got != http.StatusForbidden {
			t.Errorf("expired launch URL, try %d: %d, want 403", i+1, got)
		}
	}
	if got := status(fresh); got != http.StatusForbidden {
		t.Errorf("the other expired launch URL: %d, want 403", got)
	}
	// A new one works: expiry is per token.
	if got := status(launchToken(t, ui.LaunchURL(web.RoomView(room)))); got != http.StatusCreated {
		t.Errorf("new launch URL: %d", got)
	}
}

// A session copied out of a window (to curl, say) stops working once it
// has gone unused for the idle time, and any session once it is older
// than the maximum, however much it is used; an open event stream is a
// use, and ends with its session.
func TestUISessionExpires(t *testing.T) {
	asha, bilal, room := twoMembers(t)
	clock := web.NewTestClock()
	start := clock.Now()
	const idle, max = 12 * time.Hour, 7 * 24 * time.Hour
	ui := startUI(t, asha, web.UIOptions{SessionIdle: idle, SessionMax: max, Now: clock.Now})
	inv, err := asha.InviteFor(room)
	if err != nil {
		t.Fatal(err)
	}
	invite := ui.Origin() + "/v1/rooms/" + string(room) + "/invite"
	// disclosed replays a stolen token as curl would (no Origin) and
	// reports whether it got the room's password.
	disclosed := func(token string) bool {
		t.Helper()
		resp := get(t, noRedirects(), invite, map[string]string{"Authorization": "Bearer " + token})
		body, _ := io.ReadAll(resp.Body)
		got := strings.Contains(string(body), inv.Password)
		if got != (resp.StatusCode == http.StatusOK) || (!got && resp.StatusCode != http.StatusUnauthorized) {
			t.Errorf("GET invite: %s %q", resp.Status, body)
		}
		return got
	}
	stolen, _ := launchSession(t, ui, web.RoomView(room))
	window, _ := launchSession(t, ui, web.RoomView(room))
	if !disclosed(stolen) {
		t.Fatal("a live session was refused")
	}
	stream := openEvents(t, bearerClient(window), ui.Origin()+"/v1/events?client=window-0123")

	clock.Advance(idle + time.Minute)
	if disclosed(stolen) {
		t.Errorf("a session unused for %v still works", idle+time.Minute)
	}
	// The window's stream kept its session in use.
	if _, err := bilal.Send(t.Context(), room, "after a night"); err != nil {
		t.Fatal(err)
	}
	if e := stream.next(t, "message", string(room)); e.Message.Text != "after a night" {
		t.Errorf("event %+v", e.Message)
	}
	deadline := start.Add(max)
	for clock.Now().Add(idle - time.Minute).Before(deadline) {
		clock.Advance(idle - time.Minute)
		if !disclosed(window) {
			t.Fatalf("a session in use expired before the maximum, %v after it began", clock.Now().Sub(start))
		}
	}
	clock.Advance(deadline.Sub(clock.Now()) + time.Second) // past the maximum, within the idle time
	if disclosed(window) {
		t.Errorf("a session in use outlived the maximum of %v", max)
	}
	// Its stream ends rather than deliver the next event.
	if _, err := bilal.Send(t.Context(), room, "too late"); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(30 * time.Second)
	for {
		select {
		case e, ok := <-stream.events:
			if !ok {
				return
			}
			if e.Message != nil && e.Message.Text == "too late" {
				t.Errorf("the stream of an expired session delivered %+v", e.Message)
			}
		case <-timeout:
			t.Fatal("the stream of an expired session stays open")
		}
	}
}

// Another site's page, or a DNS-rebound host name, gets nothing done even
// with the session (which a page of another origin cannot read, but might
// have been given).
func TestUIRefusesForeignOriginsAndHosts(t *testing.T) {
	asha, bilal, room := twoMembers(t)
	ui := startUI(t, asha, web.UIOptions{})
	token, _ := launchSession(t, ui, web.RoomView(room))
	auth := "Bearer " + token
	base, _ := url.Parse(ui.Origin())
	port := base.Port()
	send := ui.Origin() + "/v1/rooms/" + string(room) + "/messages"
	body := `{"text":"sent by a foreign page"}`
	hcNoJar := noRedirects()

	refused := []struct {
		name           string
		method, u      string
		body           string
		header         map[string]string
		wantStatusCode int
	}{
		{"POST, foreign Origin", http.MethodPost, send, body, map[string]string{"Origin": "http://evil.example"}, 403},
		{"POST, Origin of another local port", http.MethodPost, send, body, map[string]string{"Origin": "http://127.0.0.1:1"}, 403},
		{"POST, Origin null", http.MethodPost, send, body, map[string]string{"Origin": "null"}, 403},
		{"POST, no Origin, cross-site fetch", http.MethodPost, send, body, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"POST, no Origin, same-site fetch", http.MethodPost, send, body, map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"DELETE, foreign Origin", http.MethodDelete, ui.Origin() + "/v1/rooms/" + string(room), "", map[string]string{"Origin": "http://evil.example"}, 403},
		{"event stream, foreign Origin", http.MethodGet, ui.Origin() + "/v1/events?client=abcdefgh12", "", map[string]string{"Origin": "http://evil.example"}, 403},
		{"API read, cross-site", http.MethodGet, ui.Origin() + "/v1/rooms/" + string(room) + "/invite", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"POST, rebound Host", http.MethodPost, send, body, map[string]string{"Host": "evil.example:" + port}, 403},
		{"page, rebound Host", http.MethodGet, ui.Origin() + "/", "", map[string]string{"Host": "evil.example:" + port}, 403},
		{"API read, rebound Host", http.MethodGet, ui.Origin() + "/v1/rooms", "", map[string]string{"Host": "evil.example:" + port}, 403},
		{"API read, Host without port", http.MethodGet, ui.Origin() + "/v1/rooms", "", map[string]string{"Host": "127.0.0.1"}, 403},
	}
	for _, c := range refused {
		c.header["Authorization"] = auth
		resp := do(t, hcNoJar, c.method, c.u, c.body, c.header)
		checkSecurityHeaders(t, c.name, resp)
		if resp.StatusCode != c.wantStatusCode {
			t.Errorf("%s: %s, want %d", c.name, resp.Status, c.wantStatusCode)
		}
	}
	// A launch token posted under a rebound host name, or from another
	// origin, is refused, and not spent: the attacker cannot burn the
	// user's link either.
	launch := launchToken(t, ui.LaunchURL(web.RoomView(room)))
	exchangeBody := `{"launch":"` + launch + `"}`
	for name, h := range map[string]map[string]string{
		"rebound Host":   {"Host": "evil.example:" + port},
		"foreign Origin": {"Origin": "http://127.0.0.1:1"},
	} {
		if resp := do(t, hcNoJar, http.MethodPost, ui.Origin()+"/v1/session", exchangeBody, h); resp.StatusCode != http.StatusForbidden {
			t.Errorf("launch token from a %s: %s, want 403", name, resp.Status)
		}
	}
	if resp, err := exchange(ui, launch); err != nil || resp.StatusCode != http.StatusCreated {
		t.Errorf("launch token after the refused tries: %v %v, want it still usable", resp.Status, err)
	} else {
		resp.Body.Close()
	}

	// What the page itself sends goes through: same origin by Origin, by
	// Sec-Fetch-Site, or a script with the session and neither header.
	for name, h := range map[string]map[string]string{
		"own Origin":         {"Origin": ui.Origin()},
		"localhost Origin":   {"Origin": "http://localhost:" + port, "Host": "localhost:" + port},
		"same-origin fetch":  {"Sec-Fetch-Site": "same-origin"},
		"no browser headers": {},
	} {
		h["Authorization"] = auth
		resp := do(t, hcNoJar, http.MethodPost, send, `{"text":"from the page: `+name+`"}`, h)
		if resp.StatusCode != http.StatusCreated {
			t.Errorf("POST with %s: %s, want 201", name, resp.Status)
		}
	}
	waitFor(t, "Bilal to receive the page's four messages", func() bool {
		hist, _ := bilal.History(room)
		return len(hist) == 4
	})
	hist, _ := bilal.History(room)
	for _, m := range hist {
		if strings.Contains(m.Text, "foreign") {
			t.Errorf("a refused request was sent: %q", m.Text)
		}
	}
	if _, err := asha.Room(room); err != nil {
		t.Errorf("the refused DELETE left the room: %v", err)
	}
}

// sse reads events from a GET /v1/events answer.
type sse struct {
	resp   *http.Response
	events chan web.EventJSON
	close  func() // ends the stream as a vanishing client would
}

func openEvents(t *testing.T, hc *http.Client, u string) *sse {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	req = req.WithContext(ctx)
	hcs := *hc
	hcs.Timeout = 0 // a stream
	resp, err := hcs.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		t.Fatalf("GET %s: %s %s", u, resp.Status, resp.Header.Get("Content-Type"))
	}
	s := &sse{resp: resp, events: make(chan web.EventJSON, 100)}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var e web.EventJSON
			if err := json.Unmarshal([]byte(data), &e); err != nil {
				t.Errorf("event %q: %v", data, err)
				continue
			}
			s.events <- e
		}
	}()
	t.Cleanup(func() { cancel(); resp.Body.Close(); wg.Wait() })
	s.close = func() { cancel(); resp.Body.Close(); wg.Wait() }
	return s
}

// next returns the next event of kind for room, skipping others.
func (s *sse) next(t *testing.T, kind, room string) web.EventJSON {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case e, ok := <-s.events:
			if !ok {
				t.Fatalf("event stream ended waiting for %s", kind)
			}
			if e.Kind == kind && e.Room == room {
				return e
			}
		case <-timeout:
			t.Fatalf("no %s event for room %s", kind, room)
		}
	}
}

// recordingNotifier records notifications.
type recordingNotifier struct {
	mu    sync.Mutex
	texts []string
}

func (n *recordingNotifier) Notify(_ context.Context, note rooms.Notification) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.texts = append(n.texts, note.Text)
	return nil
}

func (n *recordingNotifier) has(text string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, t := range n.texts {
		if t == text {
			return true
		}
	}
	return false
}

// The event stream carries the Service's events; a window's focus holds
// only while its stream is open: while it does, messages to the room are
// read and not notified; when the window goes away without a word (a
// crash), notifications come back.
func TestUIEventsAndFocus(t *testing.T) {
	asha, bilal, room := twoMembers(t)
	notes := &recordingNotifier{}
	asha.SetNotifier(notes)
	ui := startUI(t, asha, web.UIOptions{})
	hc := sessionClient(t, ui, web.RoomView(room))
	focusURL := ui.Origin() + "/v1/rooms/" + string(room) + "/focus"
	const client = "window-one-0123"
	own := map[string]string{"Origin": ui.Origin()}

	// Focus without a stream to give it back is refused.
	if resp := do(t, hc, http.MethodPost, focusURL, `{"client":"`+client+`","on":true}`, own); resp.StatusCode != http.StatusConflict {
		t.Errorf("focus before the event stream: %s, want 409", resp.Status)
	}
	if resp := do(t, hc, http.MethodPost, focusURL, `{"client":"bad id!","on":true}`, own); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("focus with a malformed client id: %s, want 400", resp.Status)
	}

	stream := openEvents(t, hc, ui.Origin()+"/v1/events?client="+client)
	if _, err := bilal.Send(t.Context(), room, "unfocused <b>1</b>"); err != nil {
		t.Fatal(err)
	}
	e := stream.next(t, "message", string(room))
	if e.Message == nil || e.Message.Text != "unfocused <b>1</b>" || e.Message.From != "Bilal" || e.Message.Own {
		t.Errorf("message event: %+v", e.Message)
	}
	waitFor(t, "the unfocused message to be notified", func() bool { return notes.has("unfocused <b>1</b>") })

	if resp := do(t, hc, http.MethodPost, focusURL, `{"client":"`+client+`","on":true}`, own); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("focus: %s", resp.Status)
	}
	// Twice is once: the later "off" must end it.
	do(t, hc, http.MethodPost, focusURL, `{"client":"`+client+`","on":true}`, own)
	if in, _ := asha.Room(room); in.Unread != 0 {
		t.Errorf("focused room has %d unread, want 0", in.Unread)
	}
	if _, err := bilal.Send(t.Context(), room, "focused 2"); err != nil {
		t.Fatal(err)
	}
	stream.next(t, "message", string(room))
	if in, _ := asha.Room(room); in.Unread != 0 {
		t.Errorf("a message to the focused room left %d unread, want 0", in.Unread)
	}

	// The window vanishes without reporting focus off.
	stream.close()
	waitFor(t, "focus to be given back", func() bool {
		// Each probe is a message that must be notified once focus is gone.
		text := "probe " + time.Now().Format(time.RFC3339Nano)
		if _, err := bilal.Send(t.Context(), room, text); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(2 * time.Second)
		for time.Now().Before(deadline) {
			if notes.has(text) {
				return true
			}
			time.Sleep(20 * time.Millisecond)
		}
		return false
	})
	if notes.has("focused 2") {
		t.Errorf("a message to the focused room was notified")
	}

	// Focus off with no stream and nothing held is harmless.
	if resp := do(t, hc, http.MethodPost, focusURL, `{"client":"`+client+`","on":false}`, own); resp.StatusCode != http.StatusNoContent {
		t.Errorf("focus off after the stream closed: %s", resp.Status)
	}
}

// The unix socket serves the same event stream, for scripts.
func TestEventsOnUnixSocket(t *testing.T) {
	broker, dsn := newBroker(t), "sqlite://"+filepath.Join(t.TempDir(), "r.db")
	svc := newService(t, "Asha", broker, dsn)
	_, sock := serve(t, svc)
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	stream := openEvents(t, hc, "http://sunoye/v1/events")
	inv, err := svc.Create(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	stream.next(t, "joined", string(inv.Room))
	if _, err := svc.Send(t.Context(), inv.Room, "line one\nline two"); err != nil {
		t.Fatal(err)
	}
	if e := stream.next(t, "message", string(inv.Room)); e.Message == nil || e.Message.Text != "line one\nline two" || !e.Message.Own {
		t.Errorf("message event: %+v", e.Message)
	}
}

// Settings: the name applies at once; broker and database go to the
// callback, only when changed, and call for a restart.
func TestUISettings(t *testing.T) {
	asha, _, room := twoMembers(t)
	var mu sync.Mutex
	var saved []web.SettingsJSON
	ui := startUI(t, asha, web.UIOptions{
		LoadSettings: func() web.SettingsJSON {
			return web.SettingsJSON{Name: "ignored", Broker: "ssl://alice:xxxxx@mqtt.example.com:8883", DB: "sqlite://…"}
		},
		SaveSettings: func(s web.SettingsJSON) error {
			mu.Lock()
			defer mu.Unlock()
			if s.Broker == "bad" {
				return errors.Join(rooms.ErrInvalid, errors.New("broker: not a URL"))
			}
			saved = append(saved, s)
			return nil
		},
	})
	hc := sessionClient(t, ui, web.View{Kind: web.ViewSettings})
	own := map[string]string{"Origin": ui.Origin()}
	u := ui.Origin() + "/v1/settings"

	var s web.SettingsJSON
	if err := json.NewDecoder(get(t, hc, u, nil).Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	if s != (web.SettingsJSON{Name: "Asha", Broker: "ssl://alice:xxxxx@mqtt.example.com:8883", DB: "sqlite://…"}) {
		t.Errorf("GET settings: %+v", s)
	}

	// The form sends the redacted values back unchanged: nothing to save
	// but the name, no restart.
	var ans web.SettingsAnswerJSON
	resp := do(t, hc, http.MethodPost, u, `{"name":"Asha K","broker":"ssl://alice:xxxxx@mqtt.example.com:8883","db":"sqlite://…"}`, own)
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST settings: %s %v", resp.Status, err)
	}
	if ans.Name != "Asha K" || ans.RestartNeeded || asha.Name() != "Asha K" {
		t.Errorf("after renaming: answer %+v, service name %q", ans, asha.Name())
	}
	if in, _ := asha.Room(room); !hasMember(in, "Asha K") {
		t.Errorf("the new name is not in the room's member list: %+v", in.Members)
	}

	resp = do(t, hc, http.MethodPost, u, `{"name":"Asha K","broker":"tcp://mqtt.example.org:1883"}`, own)
	ans = web.SettingsAnswerJSON{}
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil || !ans.RestartNeeded {
		t.Errorf("new broker: %s %+v %v; want restart_needed", resp.Status, ans, err)
	}
	mu.Lock()
	want := []web.SettingsJSON{{Name: "Asha K"}, {Name: "Asha K", Broker: "tcp://mqtt.example.org:1883"}}
	if len(saved) != 2 || saved[0] != want[0] || saved[1] != want[1] {
		t.Errorf("saved %+v, want %+v", saved, want)
	}
	mu.Unlock()

	for name, body := range map[string]string{
		"control characters in the name": `{"name":"a\u0007b"}`,
		"a broker the callback rejects":  `{"name":"Asha K","broker":"bad"}`,
		"malformed":                      `{"name":`,
	} {
		if resp := do(t, hc, http.MethodPost, u, body, own); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %s, want 400", name, resp.Status)
		}
	}
	if asha.Name() != "Asha K" {
		t.Errorf("a refused rename changed the name to %q", asha.Name())
	}
}

func hasMember(in rooms.RoomInfo, name string) bool {
	for _, m := range in.Members {
		if m.Name == name {
			return true
		}
	}
	return false
}

func TestParseView(t *testing.T) {
	for in, want := range map[string]web.View{
		"":                  {},
		"#/":                {},
		"room/482913057":    web.RoomView("482913057"),
		"#/quick/482913057": web.QuickView("482913057"),
		"/create":           {Kind: web.ViewCreate},
		"join":              {Kind: web.ViewJoin},
		"join/482 913 057":  {Kind: web.ViewJoin, Room: "482913057"},
		"settings":          {Kind: web.ViewSettings},
		"leave/482913057":   web.LeaveView("482913057"),
	} {
		got, err := web.ParseView(in)
		if err != nil || got != want {
			t.Errorf("ParseView(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if err == nil {
			if again, err := web.ParseView(got.String()); err != nil || again != got {
				t.Errorf("ParseView(%q.String()) = %+v, %v", in, again, err)
			}
		}
	}
	for _, bad := range []string{"room", "room/12", "quick/abc", "create/482913057", "rooms", "../etc", "leave", "leave/12"} {
		if v, err := web.ParseView(bad); err == nil {
			t.Errorf("ParseView(%q) = %+v, want an error", bad, v)
		}
	}
}

// The page's code puts data into the page as text only: a use of an
// HTML-parsing sink in the assets is a bug waiting for a message to
// exploit it.
func TestAssetsUseNoHTMLSinks(t *testing.T) {
	sinks := regexp.MustCompile(`\.innerHTML\s*[+]?=|\.outerHTML\s*[+]?=|insertAdjacentHTML|document\.write|\beval\(|new Function\(|setTimeout\(\s*['"]`)
	files, err := filepath.Glob("assets/*.js")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in assets/: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if sinks.MatchString(line) {
				t.Errorf("%s:%d uses an HTML or code sink: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
	html, err := os.ReadFile("assets/index.html")
	if err != nil {
		t.Fatal(err)
	}
	if regexp.MustCompile(`<script>|<style|\sstyle=|\son[a-z]+=`).Match(html) {
		t.Errorf("index.html has inline script, style or event handlers, which the CSP blocks")
	}
	// Every module is preloaded with the page, not found one level of
	// imports at a time (a window's first show, docs/performance.md).
	modules, _ := filepath.Glob("assets/*.js")
	for _, m := range modules {
		name := filepath.Base(m)
		if name != "app.js" && !strings.Contains(string(html), `<link rel="modulepreload" href="`+name+`">`) {
			t.Errorf("index.html does not preload %s", name)
		}
	}
}

// POST /v1/open (sunoye open) hands a parsed view to the daemon's window
// opener, for joined rooms only, and says so when there is no opener.
func TestOpenWindow(t *testing.T) {
	broker, dsn := newBroker(t), "sqlite://"+filepath.Join(t.TempDir(), "r.db")
	svc := newService(t, "Asha", broker, dsn)
	inv, err := svc.Create(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	api := web.NewServer(svc, web.Info{Version: "test"}, testenv.TestLogger(t))
	api.SetEstimator(estimate)
	dir, err := os.MkdirTemp("", "open")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- api.ServeUnix(ctx, sock) }()
	t.Cleanup(func() { cancel(); <-done })
	c := web.NewClient(sock)
	waitFor(t, "the API", func() bool { _, err := c.Status(t.Context()); return err == nil })

	code := func(err error) string {
		var e *web.APIError
		if errors.As(err, &e) {
			return e.Code
		}
		return fmt.Sprint(err)
	}
	if err := c.Open(t.Context(), web.RoomView(inv.Room)); code(err) != web.CodeNoWindow {
		t.Errorf("open without an opener: %v, want %s", err, web.CodeNoWindow)
	}
	var mu sync.Mutex
	var opened []web.View
	api.SetOpener(func(_ context.Context, v web.View) error {
		mu.Lock()
		defer mu.Unlock()
		if v.Kind == web.ViewSettings {
			return fmt.Errorf("chatview: %w", web.ErrNoWindow)
		}
		opened = append(opened, v)
		return nil
	})
	for _, v := range []web.View{web.RoomView(inv.Room), web.QuickView(inv.Room), {Kind: web.ViewCreate}} {
		if err := c.Open(t.Context(), v); err != nil {
			t.Errorf("open %s: %v", v, err)
		}
	}
	if err := c.Open(t.Context(), web.RoomView("123456789")); code(err) != web.CodeNotJoined {
		t.Errorf("open a room we are not in: %v, want %s", err, web.CodeNotJoined)
	}
	if err := c.Open(t.Context(), web.View{Kind: "nonsense"}); code(err) != web.CodeBadRequest {
		t.Errorf("open a malformed view: %v, want %s", err, web.CodeBadRequest)
	}
	if err := c.Open(t.Context(), web.View{Kind: web.ViewSettings}); code(err) != web.CodeNoWindow {
		t.Errorf("opener without a display: %v, want %s", err, web.CodeNoWindow)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []web.View{web.RoomView(inv.Room), web.QuickView(inv.Room), {Kind: web.ViewCreate}}
	if !slices.Equal(opened, want) {
		t.Errorf("opened %v, want %v", opened, want)
	}
}
