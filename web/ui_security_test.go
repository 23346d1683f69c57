package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"

	"github.com/sunoye/sunoye/web"
)

// headerLog records the headers of every request a server gets.
type headerLog struct {
	mu   sync.Mutex
	seen []http.Header
}

func (l *headerLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	l.seen = append(l.seen, r.Header.Clone())
	l.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, `<!doctype html><title>another local program</title><img src="/pixel.png"><p>hello</p>`)
}

func (l *headerLog) headers() []http.Header {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]http.Header(nil), l.seen...)
}

// Another program serving on 127.0.0.1, that the browser showing the chat
// UI visits, gets no SunOye credential: the browser holds no cookie for
// it, and whatever the browser sent it, replayed as curl would, gets
// nothing from the API. The chat UI stays signed in across a reload of
// its tab, and says so when its session expires.
func TestUIOtherLocalPortsGetNoCredential(t *testing.T) {
	asha, bilal, room := twoMembers(t)
	inv, err := asha.InviteFor(room)
	if err != nil {
		t.Fatal(err)
	}
	clock := web.NewTestClock()
	ui := startUI(t, asha, web.UIOptions{Now: clock.Now})
	other := &headerLog{}
	srv := httptest.NewServer(other) // 127.0.0.1, another port
	t.Cleanup(srv.Close)

	b := browser(t, 3*time.Minute)
	act(t, b, "open the room's launch URL", chromedp.Navigate(ui.LaunchURL(web.RoomView(room))))
	until[bool](t, b, "the invite banner, which needs the session", `(() => {
		const b = document.querySelector('.invite');
		return b && !b.hidden && b.querySelector('.invite-text').textContent.includes(`+jsString(inv.Password)+`);
	})()`)
	token := value(t, b, "read the page's session", chromedp.Evaluate[string](`sessionStorage.getItem('sunoye-session') || ''`))
	if js := value(t, b, "read document.cookie", chromedp.Evaluate[string](`document.cookie`)); js != "" {
		t.Errorf("the page has cookies: %q", js)
	}

	// The browser visits the other program, which also asks it for more.
	act(t, b, "visit the other local program", chromedp.Navigate(srv.URL+"/"),
		chromedp.Evaluate[chromedp.Void](`fetch('/more', { credentials: 'include' }).then(r => r.text())`, chromedp.EvalAwaitPromise))
	waitFor(t, "the other program to get the page, its image and the fetch", func() bool { return len(other.headers()) >= 3 })

	cookies := value(t, b, "read the browser's cookies", chromedp.Action[[]string](func(ctx context.Context, _ *chromedp.Target) ([]string, error) {
		res, err := cdp.Call(ctx, chromedp.FromContext(ctx).Browser, storage.GetCookies, storage.GetCookiesParams{})
		var out []string
		for _, c := range res.Cookies {
			out = append(out, c.Domain+": "+c.Name)
		}
		return out, err
	}))
	if len(cookies) != 0 {
		t.Errorf("the browser holds cookies, which every port of their host gets: %q", cookies)
	}
	hc := noRedirects()
	for i, h := range other.headers() {
		for name, vs := range h {
			for _, v := range vs {
				if name == "Cookie" || name == "Authorization" || (token != "" && strings.Contains(v, token)) {
					t.Errorf("request %d to the other program carries %s: %.60s…", i+1, name, v)
				}
			}
		}
		// Replayed as curl would (no Origin), it gets no invite.
		replay := map[string]string{}
		for name := range h {
			if name != "Origin" && name != "Sec-Fetch-Site" && name != "Referer" {
				replay[name] = h.Get(name)
			}
		}
		resp := get(t, hc, ui.Origin()+"/v1/rooms/"+string(room)+"/invite", replay)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusUnauthorized || strings.Contains(string(body), inv.Password) {
			t.Errorf("request %d to the other program, replayed to the invite: %s %.100q; want 401 and no password", i+1, resp.Status, body)
		}
	}

	// Back in the tab (a reload, as far as the page knows): still signed in.
	act(t, b, "go back to the chat UI", chromedp.Navigate(ui.Origin()+"/#/room/"+string(room)))
	until[bool](t, b, "the room's members", `document.querySelectorAll('.members li').length === 2`)
	if _, err := bilal.Send(t.Context(), room, "still signed in?"); err != nil {
		t.Fatal(err)
	}
	until[bool](t, b, "the live message", `[...document.querySelectorAll('.msg .body')].some(e => e.textContent === 'still signed in?')`)

	// A week later the session is over: the open window says what to do.
	clock.Advance(web.DefaultSessionMax + time.Minute)
	if _, err := bilal.Send(t.Context(), room, "after a week"); err != nil {
		t.Fatal(err)
	}
	until[bool](t, b, "the window to say it is signed out", `(() => {
		const c = document.getElementById('conn');
		return !c.hidden && c.textContent.includes('no longer signed in');
	})()`)
	if got := value(t, b, "read the messages", chromedp.Evaluate[string](`document.querySelector('.messages').textContent`)); strings.Contains(got, "after a week") {
		t.Errorf("an expired session still received a message")
	}
}
