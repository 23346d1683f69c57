package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sunoye/sunoye/rooms"
	"github.com/sunoye/sunoye/web"
)

// opened records the URLs the chat UI asked to open in the default
// browser (web.UIOptions.OpenURL).
type opened struct {
	mu   sync.Mutex
	urls []string
}

func (o *opened) open(url string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.urls = append(o.urls, url)
	if strings.Contains(url, "no-browser") {
		return errors.New("xdg-open: no method available for opening it")
	}
	return nil
}

func (o *opened) list() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.urls)
}

// A hostile member's links: only http(s) URLs become links, each showing
// the address it opens on hover (a look-alike host in punycode), none
// with a user name, none through bidi or zero-width tricks; clicking one
// (mouse, middle button, keyboard) asks the daemon to open it, and the
// window stays where it is.
func TestUILinks(t *testing.T) {
	asha, bilal, room := twoMembers(t)
	var o opened
	ui := startUI(t, asha, web.UIOptions{OpenURL: o.open})
	hostile := []string{
		"see https://example.com/path?q=1&r=2.",
		"javascript:alert(1)",
		"JaVaScRiPt:alert(document.domain)",
		"data:text/html,<script>alert(1)</script>",
		"file:///etc/passwd",
		"vbscript:msgbox(1) and about:blank and blob:https://example.com/x",
		"https://bank.example@evil.example/login",
		"https://раураl.com/login",
		"https://example.org\u202Emoc.live.evil",
		"zero\u200bwidth https://exa\u200bmple.net/x",
		`<a href="javascript:alert(1)">click</a>`,
		"(https://en.wikipedia.org/wiki/Foo_(bar))",
	}
	for _, text := range hostile {
		if _, err := bilal.Send(t.Context(), room, text); err != nil {
			t.Fatal(err)
		}
	}
	last := hostile[len(hostile)-1]
	waitFor(t, "the messages to arrive", func() bool { return hasText(asha, room, last) })

	b := browser(t, 3*time.Minute)
	act(t, b, "open the room", chromedp.Navigate(ui.LaunchURL(web.RoomView(room))))
	until[bool](t, b, "the messages", `[...document.querySelectorAll('.msg .body')].some(e => e.textContent === `+jsString(last)+`)`)
	links := value(t, b, "read the links", chromedp.Evaluate[[][]string](`[...document.querySelectorAll('.messages a')].map(a => [a.textContent, a.getAttribute('href'), a.title, a.target])`))
	want := [][]string{
		{"https://example.com/path?q=1&r=2", "https://example.com/path?q=1&r=2", "https://example.com/path?q=1&r=2", "_blank"},
		// blob: is text; the https URL inside it is a link of its own.
		{"https://example.com/x", "https://example.com/x", "https://example.com/x", "_blank"},
		{"https://раураl.com/login", "https://xn--l-7sba6dbr.com/login", "https://xn--l-7sba6dbr.com/login", "_blank"},
		{"https://example.org", "https://example.org/", "https://example.org/", "_blank"},
		{"https://exa", "https://exa/", "https://exa/", "_blank"},
		{"https://en.wikipedia.org/wiki/Foo_(bar)", "https://en.wikipedia.org/wiki/Foo_(bar)", "https://en.wikipedia.org/wiki/Foo_(bar)", "_blank"},
	}
	if !slices.EqualFunc(links, want, slices.Equal) {
		t.Errorf("links in the messages:\n got %q\nwant %q", links, want)
	}
	// Every message is still there as text, whole.
	bodies := value(t, b, "read the messages", chromedp.Evaluate[[]string](`[...document.querySelectorAll('.msg .body')].map(e => e.textContent)`))
	if !slices.Equal(bodies, hostile) {
		t.Errorf("messages shown as %q, want %q", bodies, hostile)
	}

	// Clicks: the window stays, the daemon opens.
	act(t, b, "mark the page", chromedp.Evaluate[chromedp.Void](`window.stayed = 'yes'`))
	href := "https://example.com/path?q=1&r=2"
	sel := chromedp.CSS(`.messages a[href="` + href + `"]`)
	act(t, b, "click the link", chromedp.Click(sel))
	waitFor(t, "the link to be opened", func() bool { return len(o.list()) == 1 })
	act(t, b, "middle-click the link", middleClick(`.messages a[href="`+href+`"]`))
	waitFor(t, "the link to be opened again", func() bool { return len(o.list()) == 2 })
	act(t, b, "press Enter on the link", chromedp.Focus(sel), chromedp.KeyEvent(kb.Enter))
	waitFor(t, "the link to be opened a third time", func() bool { return len(o.list()) == 3 })
	for _, u := range o.list() {
		if u != href {
			t.Errorf("opened %q, want %q", u, href)
		}
	}
	// A link dropped on the window does not replace the page.
	act(t, b, "drop a link on the messages", dropLink(".messages", "https://example.net/dropped"))
	state := value(t, b, "read the page", chromedp.Evaluate[[]string](`[window.stayed, location.href]`))
	if state[0] != "yes" || state[1] != ui.Origin()+"/#/room/"+string(room) {
		t.Errorf("the window navigated: %q", state)
	}
	targets, err := chromedp.Targets(b)
	if err != nil {
		t.Fatal(err)
	}
	pages := 0
	for _, tg := range targets {
		if tg.Type == "page" {
			pages++
		}
	}
	if pages != 1 {
		t.Errorf("%d pages open after the clicks, want 1 (a link opened in the browser, not the daemon)", pages)
	}

	// A daemon that cannot start a browser (headless, the window a tab
	// elsewhere): the tab's browser opens the link in a new tab, and the
	// page says what the daemon said.
	const headless = "https://example.com/no-browser"
	if _, err := bilal.Send(t.Context(), room, "try "+headless); err != nil {
		t.Fatal(err)
	}
	fallback := chromedp.CSS(`.messages a[href="` + headless + `"]`)
	act(t, b, "click a link the daemon cannot open", chromedp.WaitVisible(fallback), chromedp.Click(fallback))
	if got := until[string](t, b, "the error", `(() => { const e = document.querySelector('.composer .error'); return !e.hidden && e.textContent; })()`); !strings.Contains(got, "no method available") {
		t.Errorf("error for a link the daemon could not open: %q", got)
	}
	waitFor(t, "a new tab with the link", func() bool {
		targets, err := chromedp.Targets(b)
		return err == nil && slices.ContainsFunc(targets, func(tg *target.Info) bool { return tg.Type == "page" && strings.HasPrefix(tg.URL, headless) })
	})
	if got := value(t, b, "read the page", chromedp.Evaluate[string](`location.href`)); got != ui.Origin()+"/#/room/"+string(room) {
		t.Errorf("the window navigated to %q", got)
	}

	// The daemon checks again: the page is not trusted either.
	hc := sessionClient(t, ui, web.RoomView(room))
	for _, bad := range []string{
		"javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,hi", "file:///etc/passwd", "ftp://example.com/",
		"https://bank.example@evil.example/", "http:example.com", "https://", "//evil.example/", "https://ex ample.com/",
		"https://example.com/\nx", "-oProxyCommand=evil", "https://example.com/" + strings.Repeat("a", 5000),
	} {
		resp := do(t, hc, http.MethodPost, ui.Origin()+"/v1/open-url", jsonBody(web.OpenURLRequest{URL: bad}), map[string]string{"Origin": ui.Origin()})
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("open-url %.40q: %s, want 400", bad, resp.Status)
		}
	}
	if n := len(o.list()); n != 4 {
		t.Errorf("the opener ran %d times, want 3 (bad URLs refused)", n)
	}
	// Without a session, nothing opens.
	resp := do(t, http.DefaultClient, http.MethodPost, ui.Origin()+"/v1/open-url", jsonBody(web.OpenURLRequest{URL: href}), map[string]string{"Origin": ui.Origin()})
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || len(o.list()) != 4 {
		t.Errorf("open-url without a session: %s", resp.Status)
	}
}

// focusPage makes the page have the focus (or not), as a window in front
// does: a headless browser's page has none.
func focusPage(on bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: on})
		return err
	})
}

// dropLink drags url from elsewhere and drops it on the element sel.
func dropLink(sel, url string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		pos, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => {
			const r = document.querySelector(`+jsString(sel)+`).getBoundingClientRect();
			return [r.left + r.width / 2, r.top + r.height / 2];
		})()`))
		if err != nil {
			return err
		}
		data := &input.DragData{
			Items:              []*input.DragDataItem{{MimeType: "text/uri-list", Data: url}, {MimeType: "text/plain", Data: url}},
			DragOperationsMask: 1 | 2 | 16,
		}
		for _, typ := range []input.DispatchDragEventType{input.DispatchDragEventTypeDragEnter, input.DispatchDragEventTypeDragOver, input.DispatchDragEventTypeDrop} {
			if _, err := cdp.Call(ctx, t, input.DispatchDragEvent, input.DispatchDragEventParams{Type: typ, X: pos[0], Y: pos[1], Data: data}); err != nil {
				return err
			}
		}
		return nil
	})
}

// jsonBody encodes v as a request body.
func jsonBody(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// middleClick clicks the element sel with the middle button, as a mouse
// does: it opens a link in a new tab in a browser.
func middleClick(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		pos, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => {
			const r = document.querySelector(`+jsString(sel)+`).getBoundingClientRect();
			return [r.left + r.width / 2, r.top + r.height / 2];
		})()`))
		if err != nil {
			return err
		}
		for _, typ := range []input.DispatchMouseEventType{input.DispatchMouseEventTypeMousePressed, input.DispatchMouseEventTypeMouseReleased} {
			if _, err := cdp.Call(ctx, t, input.DispatchMouseEvent, input.DispatchMouseEventParams{
				Type: typ, X: pos[0], Y: pos[1], Button: input.MouseButtonMiddle, Buttons: 4, ClickCount: 1,
			}); err != nil {
				return err
			}
		}
		return nil
	})
}

// Mentions of Asha (by name, any case, or @room) are marked as hers, a
// mention of someone else only as a mention, an e-mail address not at
// all; the room's notification level is set from the window and shown as
// set elsewhere.
func TestUIMentionsAndLevel(t *testing.T) {
	asha, bilal, room := twoMembers(t)
	ui := startUI(t, asha, web.UIOptions{})
	b := browser(t, 2*time.Minute)
	act(t, b, "open the room", chromedp.Navigate(ui.LaunchURL(web.RoomView(room))))
	until[bool](t, b, "the member list", `document.querySelectorAll('.members li').length === 2`)
	for _, text := range []string{"@asha look", "@room meeting", "ask @Bilal", "mail asha@example.org", "@Ashanti?"} {
		if _, err := bilal.Send(t.Context(), room, text); err != nil {
			t.Fatal(err)
		}
	}
	until[bool](t, b, "the messages", `document.querySelectorAll('.msg').length === 5`)
	got := value(t, b, "read the mentions", chromedp.Evaluate[[][]string](`[...document.querySelectorAll('.msg')].map(li =>
		[li.classList.contains('mention-me') ? 'me' : '-', ...[...li.querySelectorAll('.mention')].map(s => s.className + ':' + s.textContent)])`))
	want := [][]string{
		{"me", "mention me:@asha"},
		{"me", "mention me:@room"},
		{"-", "mention:@Bilal"},
		{"-"},
		{"-"},
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("mentions:\n got %q\nwant %q", got, want)
	}

	// The window and the daemon agree on what mentions Asha.
	cases := []string{"@asha", "@Asha Rao hi", "@asha rao", "x@asha", "@ashanti", "(@ROOM)", "@roomy", "—@Asha!", "@Bilal and @asha", "no at"}
	others := []string{"Asha Rao", "Bilal"}
	inPage := value(t, b, "ask the page", chromedp.Evaluate[[]bool](`import('./links.js').then(m => `+jsonBody(cases)+`.map(c =>
		m.splitMentions(c, `+jsonBody(append([]string{"Asha"}, others...))+`, 'Asha').some(p => p.me)))`, chromedp.EvalAwaitPromise))
	for i, c := range cases {
		if want := rooms.Mentions(c, "Asha", others...); inPage[i] != want {
			t.Errorf("%q: the window says mention=%v, the daemon %v", c, inPage[i], want)
		}
	}

	setLevel := func(level string) {
		act(t, b, "choose "+level, chromedp.Evaluate[chromedp.Void](`(() => {
			const s = document.querySelector('select.notify');
			s.value = `+jsString(level)+`;
			s.dispatchEvent(new Event('change'));
		})()`))
	}
	setLevel("mentions")
	waitFor(t, "level mentions", func() bool { in, _ := asha.Room(room); return in.Notify == rooms.NotifyMentions })
	act(t, b, "leave the select", chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`))
	// Set elsewhere (the tray, the CLI): the window follows.
	if err := asha.SetNotify(room, rooms.NotifyNone); err != nil {
		t.Fatal(err)
	}
	until[bool](t, b, "the window to show level none", `document.querySelector('select.notify').value === 'none'`)
	if err := asha.SetMuted(room, false); err != nil {
		t.Fatal(err)
	}
	until[bool](t, b, "the window to show level all", `document.querySelector('select.notify').value === 'all'`)
}

// "Bilal is typing…" shows while Bilal types and goes when his message
// comes; typing in the window tells Bilal, once however fast one types.
func TestUITyping(t *testing.T) {
	asha, bilal, room := twoMembers(t)
	waitFor(t, "Bilal to see Asha present", func() bool { in, err := bilal.Room(room); return err == nil && len(in.Members) == 2 })
	ui := startUI(t, asha, web.UIOptions{})
	b := browser(t, 2*time.Minute)
	act(t, b, "open the room", chromedp.Navigate(ui.LaunchURL(web.RoomView(room))))
	until[bool](t, b, "the event stream", `document.documentElement.dataset.stream === 'open'`)

	if err := bilal.Typing(t.Context(), room); err != nil {
		t.Fatal(err)
	}
	if got := until[string](t, b, "the typing line", `document.querySelector('.typing').textContent`); got != "Bilal is typing…" {
		t.Errorf("typing line %q", got)
	}
	if _, err := bilal.Send(t.Context(), room, "done typing"); err != nil {
		t.Fatal(err)
	}
	until[bool](t, b, "the message, and the typing line gone", `[...document.querySelectorAll('.msg .body')].some(e => e.textContent === 'done typing') &&
		document.querySelector('.typing').textContent === ''`)
	if hist, _ := asha.History(room); len(hist) != 1 {
		t.Errorf("history holds %d messages, want 1 (typing is none)", len(hist))
	}

	events, cancel := bilal.Subscribe(1024)
	defer cancel()
	start := time.Now()
	act(t, b, "type quickly", chromedp.Click(chromedp.CSS("textarea.text")), chromedp.SendKeys(chromedp.CSS("textarea.text"), "a rather long line, typed fast"))
	var typed []rooms.Event
	deadline := time.After(30 * time.Second)
	for len(typed) == 0 {
		select {
		case e := <-events:
			if e.Kind == rooms.EventTyping {
				typed = append(typed, e)
			}
		case <-deadline:
			t.Fatal("Bilal was not told that Asha types")
		}
	}
	if typed[0].Room != room || typed[0].Member.Name != "Asha" || typed[0].Member.ID != asha.Me() {
		t.Errorf("typing event %+v %+v", typed[0], typed[0].Member)
	}
	// Whatever else came for the keystrokes: a second signal only if the
	// typing took longer than rooms.TypingEvery.
	act(t, b, "send", pressEnter(false))
	waitFor(t, "Bilal to receive it", func() bool { return hasText(bilal, room, "a rather long line, typed fast") })
	elapsed := time.Since(start)
	for drained := false; !drained; {
		select {
		case e := <-events:
			if e.Kind == rooms.EventTyping {
				typed = append(typed, e)
			}
		default:
			drained = true
		}
	}
	if max := 1 + int(elapsed/rooms.TypingEvery); len(typed) > max {
		t.Errorf("%d typing signals in %v of typing, want at most %d", len(typed), elapsed, max)
	}
}

// The unread line: the window opens at the first unread message, with
// the line above it; the messages read before are above the line.
func TestUIUnreadLine(t *testing.T) {
	asha, bilal, room := twoMembers(t)
	send := func(text string) {
		t.Helper()
		if _, err := bilal.Send(t.Context(), room, text); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 40 {
		send("read " + string(rune('A'+i%26)) + strings.Repeat(" line", i%5))
	}
	waitFor(t, "the read messages", func() bool { hist, _ := asha.History(room); return len(hist) == 40 })
	if err := asha.MarkRead(room); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"first unread", "second unread", "third unread"} {
		send(text)
	}
	waitFor(t, "three unread", func() bool { in, _ := asha.Room(room); return in.Unread == 3 })

	ui := startUI(t, asha, web.UIOptions{})
	b := browser(t, 2*time.Minute)
	act(t, b, "open the room in a focused window", focusPage(true), chromedp.Navigate(ui.LaunchURL(web.RoomView(room))))
	line := until[[]any](t, b, "the unread line", `(() => {
		const l = document.querySelector('.messages .unread-line');
		if (!l) return false;
		const list = document.querySelector('.messages');
		const next = l.nextElementSibling, prev = l.previousElementSibling;
		const visible = l.offsetTop >= list.scrollTop - 1 && l.offsetTop < list.scrollTop + list.clientHeight;
		return [next && next.querySelector('.body').textContent, prev && prev.querySelector('.body').textContent, visible, list.scrollTop > 0];
	})()`)
	if line[0] != "first unread" || !strings.HasPrefix(line[1].(string), "read N") || line[2] != true || line[3] != true {
		t.Errorf("unread line: before %q, after %q, visible %v, scrolled %v", line[0], line[1], line[2], line[3])
	}
	// Shown in a focused window, they are read now.
	waitFor(t, "the room read", func() bool { in, _ := asha.Room(room); return in.Unread == 0 })
	// The line stays where the unread began; a live message does not move
	// it while the window has the focus.
	send("live while looking")
	until[bool](t, b, "the live message", `[...document.querySelectorAll('.msg .body')].some(e => e.textContent === 'live while looking')`)
	if got := value(t, b, "read the line", chromedp.Evaluate[string](`document.querySelector('.unread-line').nextElementSibling.querySelector('.body').textContent`)); got != "first unread" {
		t.Errorf("after a message seen live, the line is above %q", got)
	}
	// Away from the window, the first message that comes moves it there.
	act(t, b, "look away", focusPage(false))
	until[bool](t, b, "the page without the focus", `!document.hasFocus()`)
	send("while away")
	send("while away, again")
	until[bool](t, b, "the line above the first message while away", `(() => {
		const l = document.querySelector('.unread-line');
		return document.querySelectorAll('.unread-line').length === 1 && l.nextElementSibling.querySelector('.body').textContent === 'while away' &&
			[...document.querySelectorAll('.msg .body')].some(e => e.textContent === 'while away, again');
	})()`)
}

// The quick reply, as a notification's click opens it, has the unread
// line and the room's notification level too: above the first unread of
// its few messages, or at their top when the unread began further back.
func TestUIQuickReplyUnreadAndLevel(t *testing.T) {
	asha, bilal, room := twoMembers(t)
	send := func(text string) {
		t.Helper()
		if _, err := bilal.Send(t.Context(), room, text); err != nil {
			t.Fatal(err)
		}
	}
	send("read one")
	send("read two")
	waitFor(t, "the read messages", func() bool { hist, _ := asha.History(room); return len(hist) == 2 })
	if err := asha.MarkRead(room); err != nil {
		t.Fatal(err)
	}
	send("first unread")
	send("second unread")
	waitFor(t, "two unread", func() bool { in, _ := asha.Room(room); return in.Unread == 2 })

	ui := startUI(t, asha, web.UIOptions{})
	b := browser(t, 2*time.Minute)
	act(t, b, "open the quick reply", focusPage(false), chromedp.Navigate(ui.LaunchURL(web.QuickView(room))))
	got := until[[]any](t, b, "the unread line", `(() => {
		const l = document.querySelector('.quick .messages .unread-line');
		if (!l || !l.nextElementSibling || !l.previousElementSibling) return false;
		return [l.nextElementSibling.querySelector('.body').textContent, l.previousElementSibling.querySelector('.body').textContent];
	})()`)
	if got[0] != "first unread" || got[1] != "read two" {
		t.Errorf("quick reply: unread line above %q, below %q", got[0], got[1])
	}

	// Five messages shown; the unread began before them: the line on top.
	for i := range 7 {
		send("burst " + string(rune('a'+i)))
	}
	top := until[[]any](t, b, "the line on top of the five latest", `(() => {
		const list = document.querySelector('.quick .messages');
		const msgs = list.querySelectorAll('.msg');
		if (msgs.length !== 5 || msgs[4].querySelector('.body').textContent !== 'burst g') return false;
		return [list.firstElementChild.className, msgs[0].querySelector('.body').textContent];
	})()`)
	if top[0] != "unread-line" || top[1] != "burst c" {
		t.Errorf("quick reply after a burst: first element %q, first message %q", top[0], top[1])
	}

	act(t, b, "choose mentions", chromedp.Evaluate[chromedp.Void](`(() => {
		const s = document.querySelector('.quick select.notify');
		s.value = 'mentions';
		s.dispatchEvent(new Event('change'));
	})()`))
	waitFor(t, "level mentions", func() bool { in, _ := asha.Room(room); return in.Notify == rooms.NotifyMentions })
	act(t, b, "leave the select", chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`))
	if err := asha.SetNotify(room, rooms.NotifyNone); err != nil {
		t.Fatal(err)
	}
	until[bool](t, b, "the quick reply to show level none", `document.querySelector('.quick select.notify').value === 'none'`)
}
