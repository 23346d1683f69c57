package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/roomstest"
	"github.com/sunoye/sunoye/rooms"
	"github.com/sunoye/sunoye/web"
)

// Whole HTTP requests, as raw bytes, against the local API (web.Server)
// and the chat UI (web.UI) of a real Service on a real broker and
// registry: what FuzzDecodeRequest does for bodies, for everything a
// request carries — method, path (the room number in it), query, headers,
// body. The corpus is in testdata/fuzz/FuzzAPI and FuzzUIWithoutSession.

// fuzzKDF keeps the rooms the fuzzer creates cheap; the derivation itself
// is not what is fuzzed.
var fuzzKDF = rooms.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

// apiFixture is Asha's Service and API: Asha is in room "base", with
// Bilal so that it stays active if the fuzzer makes Asha leave; Bilal
// alone is in room "other", whose password Asha does not know.
type apiFixture struct {
	asha        *rooms.Service
	api         *web.Server
	base, other rooms.Invite
}

func newAPIFixture(t testing.TB) *apiFixture {
	t.Helper()
	broker, dsn := tbBroker(t), "sqlite://"+filepath.Join(t.TempDir(), "r.db")
	asha, bilal := fuzzService(t, "Asha", broker, dsn), fuzzService(t, "Bilal", broker, dsn)
	ctx := context.Background()
	base, err := asha.Create(ctx, "base-room-password")
	if err != nil {
		t.Fatal(err)
	}
	if err := bilal.Join(ctx, base.Room, base.Password); err != nil {
		t.Fatal(err)
	}
	other, err := bilal.Create(ctx, "other-room-password")
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	api := web.NewServer(asha, web.Info{Version: "fuzz"}, quiet)
	api.SetEstimator(estimate)
	return &apiFixture{asha: asha, api: api, base: base, other: other}
}

// fuzzService is tbService with cheap room keys and no log.
func fuzzService(t testing.TB, name, broker, dsn string) *rooms.Service {
	t.Helper()
	return roomstest.NewService(t, roomstest.Config{Name: name, Broker: broker, DB: dsn, KDF: fuzzKDF, Run: true})
}

// reset undoes what a request changed, so that every input meets the same
// daemon: Asha in the base room only, not muted, no do-not-disturb.
func (fx *apiFixture) reset(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for _, in := range fx.asha.Rooms() {
		if in.ID != fx.base.Room {
			if err := fx.asha.Leave(ctx, in.ID); err != nil {
				t.Fatalf("reset: leave %s: %v", in.ID, err)
			}
		} else if in.Muted {
			fx.asha.SetMuted(in.ID, false)
		}
	}
	if _, err := fx.asha.Room(fx.base.Room); err != nil {
		if err := fx.asha.Join(ctx, fx.base.Room, fx.base.Password); err != nil {
			t.Fatalf("reset: rejoin the base room: %v", err)
		}
	}
	fx.asha.SetDoNotDisturb(false)
}

// readRequest parses raw as an HTTP/1.1 request, with the placeholders
// ROOM_BASE, ROOM_OTHR and PORT replaced: room numbers and ports differ in
// every run, so the corpus names them this way (room placeholders are
// nine characters, as room numbers are, so Content-Length stays right).
func readRequest(raw []byte, repl *strings.Replacer) (*http.Request, bool) {
	raw = []byte(repl.Replace(string(raw)))
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return nil, false
	}
	return req, true
}

// requestContext bounds a request: streams (the event stream, a followed
// history) end quickly, anything else gets time enough for a join.
func requestContext(req *http.Request) (context.Context, context.CancelFunc) {
	d := 10 * time.Second
	if strings.HasSuffix(req.URL.Path, "/events") || req.URL.Query().Has("follow") {
		d = 50 * time.Millisecond
	}
	return context.WithTimeout(context.Background(), d)
}

// rawRequest formats an HTTP/1.1 request with a correct Content-Length.
func rawRequest(method, target, body string, header ...string) string {
	var b strings.Builder
	b.WriteString(method + " " + target + " HTTP/1.1\r\n")
	for _, h := range header {
		b.WriteString(h + "\r\n")
	}
	if body != "" {
		b.WriteString("Content-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n")
	}
	return b.String() + "\r\n" + body
}

// request is a request to the local API, on its unix socket.
func request(method, target, body string, header ...string) string {
	return rawRequest(method, target, body, append([]string{"Host: sunoye"}, header...)...)
}

var apiSeeds = []string{
	request("GET", "/v1/status", ""),
	request("GET", "/v1/rooms", ""),
	request("GET", "/v1/rooms/ROOM_BASE", ""),
	request("GET", "/v1/rooms/ROOM_BASE/messages", ""),
	request("GET", "/v1/rooms/ROOM_BASE/messages?follow=1&read=1", ""),
	request("GET", "/v1/rooms/ROOM_BASE/invite", ""),
	request("GET", "/v1/events", ""),
	request("POST", "/v1/rooms", "{}"),
	request("POST", "/v1/rooms", `{"password":"Robert'); DROP TABLE sunoye_rooms;--"}`),
	request("POST", "/v1/rooms/ROOM_OTHR/join", `{"password":"guess-1234"}`),
	request("POST", "/v1/rooms/ROOM_BASE/join", `{"password":"base-room-password"}`),
	request("POST", "/v1/rooms/1'%20OR%20'1'='1/join", `{"password":""}`),
	request("POST", "/v1/rooms/%34%38%32%39%31%33%30%35%37/join", "{}"),
	request("POST", "/v1/rooms/ROOM_BASE/messages", `{"text":"hi 🙂 \u202eevil\u200b"}`),
	request("POST", "/v1/rooms/ROOM_BASE/messages", `{"text":"\u0000"}`),
	request("POST", "/v1/rooms/ROOM_BASE/messages", `{"text":"\ud800"}`),
	"POST /v1/rooms/ROOM_BASE/messages HTTP/1.1\r\nHost: sunoye\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"tex\r\n8\r\nt\":\"hi\"}\r\n0\r\n\r\n",
	request("POST", "/v1/rooms/ROOM_BASE/read", ""),
	request("POST", "/v1/rooms/ROOM_BASE/mute", `{"on":true}`),
	request("DELETE", "/v1/rooms/ROOM_BASE", ""),
	request("DELETE", "/v1/rooms/ROOM_OTHR", ""),
	request("POST", "/v1/dnd", `{"on":true}`),
	request("POST", "/v1/open", `{"view":"room/ROOM_BASE"}`),
	request("POST", "/v1/launch", `{"view":"create"}`),
	request("GET", "/v1/rooms/../../etc/passwd", ""),
	request("PUT", "/v1/rooms/ROOM_BASE", ""),
}

func FuzzAPI(f *testing.F) {
	for _, s := range apiSeeds {
		f.Add([]byte(s))
	}
	fx := newAPIFixture(f)
	repl := strings.NewReplacer("ROOM_BASE", string(fx.base.Room), "ROOM_OTHR", string(fx.other.Room))
	f.Fuzz(func(t *testing.T, raw []byte) {
		req, ok := readRequest(raw, repl)
		if !ok {
			return
		}
		ctx, cancel := requestContext(req)
		defer cancel()
		rec := httptest.NewRecorder()
		fx.api.ServeHTTP(rec, req.WithContext(ctx))
		defer fx.reset(t)

		res := rec.Result()
		body := rec.Body.Bytes()
		t.Logf("%s %s: %s %.200s", req.Method, req.URL, res.Status, body)
		// The daemon's own failures are the only 5xx: its broker and
		// registry are up, so no request may provoke one.
		if res.StatusCode >= 500 && res.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("%s %s: %s %s", req.Method, req.URL, res.Status, body)
		}
		if res.StatusCode == http.StatusServiceUnavailable {
			var e web.ErrorJSON
			if json.Unmarshal(body, &e) != nil || e.Code != web.CodeNoWindow {
				t.Fatalf("%s %s: %s %s, want only no_window as a 503", req.Method, req.URL, res.Status, body)
			}
		}
		// What the API answers itself is JSON, refusals with a code.
		if res.Header.Get("Content-Type") == "application/json" {
			if !json.Valid(body) {
				t.Fatalf("%s %s: invalid JSON answer %q", req.Method, req.URL, body)
			}
			if res.StatusCode >= 400 {
				var e web.ErrorJSON
				if json.Unmarshal(body, &e) != nil || e.Code == "" || e.Error == "" {
					t.Fatalf("%s %s: %s without an error code: %s", req.Method, req.URL, res.Status, body)
				}
			}
		}
		// Asha does not know the other room's password: nothing joins it.
		if _, err := fx.asha.Room(fx.other.Room); err == nil {
			var jr web.JoinRequest
			_ = json.Unmarshal(bytes.TrimSpace(requestBody(t, raw, repl)), &jr)
			if jr.Password != fx.other.Password {
				t.Fatalf("%s %s joined the other room with password %q", req.Method, req.URL, jr.Password)
			}
		}
	})
}

// requestBody parses raw again and returns its body.
func requestBody(t *testing.T, raw []byte, repl *strings.Replacer) []byte {
	req, ok := readRequest(raw, repl)
	if !ok {
		return nil
	}
	b, _ := io.ReadAll(req.Body)
	return b
}

// The chat UI, with a live session held by someone else and an unspent
// launch link the fuzzer does not know: whatever else a request carries
// (any Host, Origin, Cookie, Authorization, path, method, body), it gets
// the page's files at most (which are the same for everyone), never a
// secret, and changes nothing.
func FuzzUIWithoutSession(f *testing.F) {
	const host = "Host: 127.0.0.1:PORT"
	for _, s := range []string{
		rawRequest("GET", "/", "", host),
		rawRequest("GET", "/app.js", "", "Host: localhost:PORT"),
		rawRequest("GET", "/v1/rooms", "", host, "Cookie: sunoye_PORT=forged"),
		rawRequest("GET", "/v1/rooms", "", host, "Authorization: Bearer forged"),
		rawRequest("GET", "/v1/settings", "", host, "Authorization: Bearer "),
		rawRequest("POST", "/v1/session", `{"launch":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`, host, "Origin: http://127.0.0.1:PORT"),
		rawRequest("POST", "/v1/session", `{"launch":""}`, host),
		rawRequest("GET", "/index.html", "", host),
		rawRequest("GET", "/v1/rooms/ROOM_BASE/invite", "", host, "Origin: http://127.0.0.1:PORT"),
		rawRequest("POST", "/v1/rooms", "{}", host, "Origin: http://127.0.0.1:PORT"),
		rawRequest("POST", "/v1/rooms/ROOM_BASE/messages", `{"text":"hi"}`, host, "Sec-Fetch-Site: same-origin"),
		rawRequest("POST", "/v1/dnd", `{"on":true}`, host),
		rawRequest("POST", "/v1/settings", `{"name":"Eve"}`, host),
		rawRequest("POST", "/v1/rooms/ROOM_BASE/focus", `{"client":"abcdefgh12","on":true}`, host),
		rawRequest("GET", "/launch?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "", host),
		rawRequest("GET", "/launch/../v1/rooms", "", host),
		rawRequest("GET", "//v1/rooms", "", host),
		rawRequest("GET", "/%76%31/rooms", "", host),
		rawRequest("GET", "http://127.0.0.1:PORT/v1/rooms", "", "Host: evil.example"),
		rawRequest("GET", "/v1/events?client=abcdefgh12", "", host),
		rawRequest("DELETE", "/v1/rooms/ROOM_BASE", "", host),
	} {
		f.Add([]byte(s))
	}
	fx := newAPIFixture(f)
	ui, err := web.NewUI(fx.asha, fx.api, web.UIOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	origin, _ := url.Parse(ui.Origin())
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- ui.Serve(ctx) }()
	f.Cleanup(func() { cancel(); <-served })
	// A session that exists, and a launch link that would make one: the
	// fuzzer knows neither, and must not ride on them.
	token, _ := launchSession(f, ui, web.RoomView(fx.base.Room))
	launch := launchToken(f, ui.LaunchURL(web.RoomView(fx.base.Room)))
	secrets := []string{token, launch, fx.base.Password, fx.other.Password}

	repl := strings.NewReplacer("ROOM_BASE", string(fx.base.Room), "PORT", origin.Port())
	f.Fuzz(func(t *testing.T, raw []byte) {
		req, ok := readRequest(raw, repl)
		if !ok {
			return
		}
		rctx, cancel := requestContext(req)
		defer cancel()
		rec := httptest.NewRecorder()
		ui.ServeHTTP(rec, req.WithContext(rctx))
		if rec.Code < 400 && (strings.HasPrefix(req.URL.Path, "/v1/") || (req.Method != http.MethodGet && req.Method != http.MethodHead)) {
			t.Fatalf("%s %s (Host %q) without a session: %d %q", req.Method, req.URL, req.Host, rec.Code, rec.Body.Bytes())
		}
		for _, secret := range secrets {
			if bytes.Contains(rec.Body.Bytes(), []byte(secret)) || strings.Contains(fmt.Sprint(rec.Header()), secret) {
				t.Fatalf("%s %s (Host %q) without a session got a secret: %d %q", req.Method, req.URL, req.Host, rec.Code, rec.Body.Bytes())
			}
		}
		rs := fx.asha.Rooms()
		if len(rs) != 1 || rs[0].ID != fx.base.Room || rs[0].Muted || fx.asha.DoNotDisturb() || fx.asha.Name() != "Asha" {
			t.Fatalf("%s %s without a session changed the daemon: rooms %+v, dnd %v, name %q", req.Method, req.URL, rs, fx.asha.DoNotDisturb(), fx.asha.Name())
		}
		if h, _ := fx.asha.History(fx.base.Room); len(h) != 0 {
			t.Fatalf("%s %s without a session sent %q", req.Method, req.URL, h[0].Text)
		}
	})
}
