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

// A launch URL works once: it sets a strict session cookie and sends the
// browser to the view without the token; the same URL again is refused.
// Without the cookie nothing is served.
func TestUILaunchTokenIsSpentOnFirstUse(t *testing.T) {
	asha, _, room := twoMembers(t)
	var logged testenv.LogBuffer
	ui := startUI(t, asha, web.UIOptions{Logger: slog.New(slog.NewTextHandler(io.MultiWriter(&logged, testenv.TestLog(t)), &slog.HandlerOptions{Level: slog.LevelDebug}))})
	hc := noRedirects()

	launch := ui.LaunchURL(web.RoomView(room))
	u, err := url.Parse(launch)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "http" || u.Host != strings.TrimPrefix(ui.Origin(), "http://") || !strings.HasPrefix(u.Host, "127.0.0.1:") {
		t.Errorf("launch URL %s is not on %s", launch, ui.Origin())
	}
	if tok := u.Query().Get("token"); len(tok) < 43 { // 32 bytes in base64
		t.Errorf("launch token %q is shorter than 32 random bytes", tok)
	}

	// A link preview's HEAD does not spend it.
	if resp := do(t, hc, http.MethodHead, launch, "", nil); resp.StatusCode != http.StatusMethodNotAllowed || len(resp.Cookies()) != 0 {
		t.Errorf("HEAD of a launch URL: %s, cookies %v; want 405 and none", resp.Status, resp.Cookies())
	}
	resp := get(t, hc, launch, nil)
	checkSecurityHeaders(t, "launch", resp)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("launch: %s, want 303", resp.Status)
	}
	if loc := resp.Header.Get("Location"); loc != "/#/room/"+string(room) {
		t.Errorf("launch redirects to %q, want the room's view without the token", loc)
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("launch set %d cookies, want 1", len(cookies))
	}
	c := cookies[0]
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Value == "" {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/", c)
	}
	withCookie := map[string]string{"Cookie": c.Name + "=" + c.Value}

	if resp := get(t, hc, launch, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("launch URL used twice: %s, want 403", resp.Status)
	} else if len(resp.Cookies()) != 0 {
		t.Errorf("a spent launch URL set a cookie")
	}

	for _, path := range []string{"/", "/app.js", "/v1/rooms", "/v1/rooms/" + string(room) + "/invite", "/v1/events?client=abcdefgh12"} {
		resp := get(t, hc, ui.Origin()+path, nil)
		checkSecurityHeaders(t, path+" without cookie", resp)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without a session: %s, want 401", path, resp.Status)
		}
		resp = get(t, hc, ui.Origin()+path, map[string]string{"Cookie": c.Name + "=forged"})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s with a forged session: %s, want 401", path, resp.Status)
		}
	}

	// With the cookie: the page and the API.
	resp = get(t, hc, ui.Origin()+"/", withCookie)
	checkSecurityHeaders(t, "page", resp)
	page, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `<script src="app.js"`) {
		t.Errorf("GET / with the session: %s %.200s", resp.Status, page)
	}
	if strings.Contains(string(page), "<script>") || strings.Contains(string(page), " style=") {
		t.Errorf("the page has inline script or style, which the CSP would block")
	}
	resp = get(t, hc, ui.Origin()+"/v1/rooms/"+string(room), withCookie)
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
	if tok := u.Query().Get("token"); strings.Contains(log, tok) || strings.Contains(log, c.Value) {
		t.Errorf("the log holds the launch token or the session cookie:\n%s", log)
	}
}

// A launch URL that waited too long is refused, and stays refused.
func TestUILaunchTokenExpires(t *testing.T) {
	asha, _, room := twoMembers(t)
	const ttl = 200 * time.Millisecond
	ui := startUI(t, asha, web.UIOptions{LaunchTTL: ttl})
	launch := ui.LaunchURL(web.RoomView(room))
	fresh := ui.LaunchURL(web.RoomView(room))
	time.Sleep(2 * ttl) // let both expire: a precondition, not what is tested
	hc := noRedirects()
	for i := range 2 {
		if resp := get(t, hc, launch, nil); resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
			t.Errorf("expired launch URL, try %d: %s, cookies %v; want 403 and none", i+1, resp.Status, resp.Cookies())
		}
	}
	if resp := get(t, hc, fresh, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the other expired launch URL: %s, want 403", resp.Status)
	}
	// A new one works: expiry is per token.
	if resp := get(t, hc, ui.LaunchURL(web.RoomView(room)), nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("new launch URL: %s", resp.Status)
	}
}

// Another site's page, or a DNS-rebound host name, gets nothing done even
// with the session cookie attached (as a browser attaches it).
func TestUIRefusesForeignOriginsAndHosts(t *testing.T) {
	asha, bilal, room := twoMembers(t)
	ui := startUI(t, asha, web.UIOptions{})
	hc := sessionClient(t, ui, web.RoomView(room))
	base, _ := url.Parse(ui.Origin())
	cookie := ""
	for _, c := range hc.Jar.Cookies(base) {
		cookie = c.Name + "=" + c.Value
	}
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
		c.header["Cookie"] = cookie
		resp := do(t, hcNoJar, c.method, c.u, c.body, c.header)
		checkSecurityHeaders(t, c.name, resp)
		if resp.StatusCode != c.wantStatusCode {
			t.Errorf("%s: %s, want %d", c.name, resp.Status, c.wantStatusCode)
		}
	}
	// A launch URL opened under a rebound host name is refused, and not
	// spent: the attacker cannot burn the user's link either.
	launch := ui.LaunchURL(web.RoomView(room))
	if resp := do(t, hcNoJar, http.MethodGet, launch, "", map[string]string{"Host": "evil.example:" + port}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("launch under a rebound Host: %s, want 403", resp.Status)
	}
	if resp := get(t, hcNoJar, launch, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("launch after the refused try: %s, want it still usable", resp.Status)
	}

	// What the page itself sends goes through: same origin by Origin, by
	// Sec-Fetch-Site, or a script with the cookie and neither header.
	for name, h := range map[string]map[string]string{
		"own Origin":         {"Origin": ui.Origin()},
		"localhost Origin":   {"Origin": "http://localhost:" + port, "Host": "localhost:" + port},
		"same-origin fetch":  {"Sec-Fetch-Site": "same-origin"},
		"no browser headers": {},
	} {
		h["Cookie"] = cookie
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
	for _, bad := range []string{"room", "room/12", "quick/abc", "create/482913057", "rooms", "../etc"} {
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
