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

	"github.com/sunoye/sunoye/rooms"
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
	waitFor(t, "Asha to receive the message", func() bool { return hasText(asha, room, "still signed in?") })
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

// Anyone can take anyone's display name, but not their member id: two
// members called the same are told apart by the tag after their names,
// the start of their member ids, which is an element of its own that a
// name cannot imitate, even one that spells another member's tag.
func TestUISameNamesAreToldApart(t *testing.T) {
	broker, dsn := tbBroker(t), "sqlite://"+t.TempDir()+"/r.db"
	chen := tbService(t, "Chen", broker, dsn)
	asha := tbService(t, "Asha", broker, dsn)
	inv, err := chen.Create(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := asha.Join(t.Context(), inv.Room, inv.Password); err != nil {
		t.Fatal(err)
	}
	// The impostor borrows Asha's name, then her tag as well.
	impostor := tbService(t, "Asha", broker, dsn)
	if err := impostor.Join(t.Context(), inv.Room, inv.Password); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Chen to see both present", func() bool { in, _ := chen.Room(inv.Room); return len(in.Members) == 3 })
	realTag, fakeTag := string(asha.Me())[:6], string(impostor.Me())[:6]
	if realTag == fakeTag {
		t.Fatalf("two fresh member ids share their first 6 characters: %s", realTag)
	}
	for svc, text := range map[*rooms.Service]string{asha: "from the real Asha", impostor: "from the impostor"} {
		if _, err := svc.Send(t.Context(), inv.Room, text); err != nil {
			t.Fatal(err)
		}
	}
	if err := impostor.SetName("Asha " + realTag); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the messages and the new name to reach Chen", func() bool {
		in, _ := chen.Room(inv.Room)
		return hasText(chen, inv.Room, "from the real Asha") && hasText(chen, inv.Room, "from the impostor") && hasMember(in, "Asha "+realTag)
	})

	ui := startUI(t, chen, web.UIOptions{})
	b := browser(t, 2*time.Minute)
	act(t, b, "open the room", chromedp.Navigate(ui.LaunchURL(web.RoomView(inv.Room))))
	type shown struct {
		Name, Tag, Title   string
		NameFont, TagFont  string
		TagIsOwnElement    bool
		NameHoldsTagMarkup bool
	}
	read := func(sel string) string {
		return `[...document.querySelectorAll(` + jsString(sel) + `)].map(e => {
			const n = e.querySelector('.name'), t = e.querySelector('.member-tag');
			return {Name: n.textContent, Tag: t.textContent, Title: e.title,
				NameFont: getComputedStyle(n).fontFamily, TagFont: getComputedStyle(t).fontFamily,
				TagIsOwnElement: t.parentElement === n.parentElement && !n.contains(t),
				NameHoldsTagMarkup: n.children.length > 0};
		})`
	}
	messages := until[[]shown](t, b, "both messages", `(() => { const l = `+read(".msg .from")+`; return l.length === 2 && l; })()`)
	members := until[[]shown](t, b, "three members", `(() => { const l = `+read(".members li")+`; return l.length === 3 && l; })()`)

	byTag := map[string]shown{}
	for _, s := range append(messages, members...) {
		if !s.TagIsOwnElement || s.NameHoldsTagMarkup {
			t.Errorf("%q: the tag is not an element of its own beside the name: %+v", s.Name, s)
		}
		if s.NameFont == s.TagFont {
			t.Errorf("%q: the tag %q is set in the name's font %q: a name could imitate it", s.Name, s.Tag, s.NameFont)
		}
		if s.Title != "member "+string(asha.Me()) && s.Title != "member "+string(impostor.Me()) && s.Title != "member "+string(chen.Me()) {
			t.Errorf("%q: hover shows %q, want the full member id", s.Name, s.Title)
		}
		byTag[s.Tag] = s
	}
	// The messages: the same name (the impostor's is Asha's name and tag
	// now, but it was Asha when it wrote), two tags, each its sender's.
	if messages[0].Name != "Asha" || messages[1].Name != "Asha" || messages[0].Tag == messages[1].Tag {
		t.Errorf("the two messages show %q·%q and %q·%q: want both Asha, with different tags", messages[0].Name, messages[0].Tag, messages[1].Name, messages[1].Tag)
	}
	for _, s := range messages {
		if s.Tag != realTag && s.Tag != fakeTag {
			t.Errorf("a message shows tag %q, want %s or %s", s.Tag, realTag, fakeTag)
		}
	}
	// The member list: the impostor's name spells Asha's tag, but its tag
	// element is the impostor's own.
	if byTag[realTag].Name != "Asha" || byTag[fakeTag].Name != "Asha "+realTag || byTag[string(chen.Me())[:6]].Name != "Chen (you)" {
		t.Errorf("member list by tag: %+v", byTag)
	}
	shot := value(t, b, "take a screenshot", chromedp.CaptureScreenshot())
	checkScreenshot(t, shot, "same-names.png")
}
