package web_test

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
	"github.com/sunoye/sunoye/web"
)

// hasText reports whether room's history in svc holds a message with text.
func hasText(svc *rooms.Service, room rooms.ID, text string) bool {
	hist, _ := svc.History(room)
	return slices.ContainsFunc(hist, func(m rooms.Message) bool { return m.Text == text })
}

// The room view in a real browser: history from before the window opened,
// the member list, a reply typed with Enter that the other member
// receives, Shift+Enter for a new line, a message arriving live, and
// markup in a message shown as the text it is.
func TestUIRoomInBrowser(t *testing.T) {
	asha, bilal, room := twoMembers(t)
	ctx := context.Background()
	if _, err := bilal.Send(ctx, room, "Hello from before\n  indented second line"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Asha to receive the first message", func() bool { return hasText(asha, room, "Hello from before\n  indented second line") })

	ui := startUI(t, asha, web.UIOptions{})
	b := browser(t, 3*time.Minute)
	act(t, b, "open the room's launch URL", chromedp.Navigate(ui.LaunchURL(web.RoomView(room))))
	// The page takes the token out of its address at once, and shows the
	// view the daemon names for it.
	until[bool](t, b, "the room's view, without the token in the address", `location.href === `+jsString(ui.Origin()+"/#/room/"+string(room)))

	// The history, as text, line breaks kept.
	first := until[[]string](t, b, "the history", `(() => {
		const m = document.querySelector('.messages .msg');
		return m && [m.querySelector('.from .name').textContent, m.querySelector('.body').textContent, m.querySelector('.body').innerText];
	})()`)
	if first[0] != "Bilal" || first[1] != "Hello from before\n  indented second line" {
		t.Errorf("first message shows from %q text %q", first[0], first[1])
	}
	if !strings.Contains(first[2], "\n  indented") {
		t.Errorf("the line break and indentation are not rendered: %q", first[2])
	}
	if title := value(t, b, "read the title", chromedp.Text(chromedp.CSS(".room-title"))); title != "Room "+string(room) {
		t.Errorf("room title %q", title)
	}

	// The members, with us marked, and their count.
	members := until[[]string](t, b, "the member list", `(() => {
		const l = [...document.querySelectorAll('.members li .name')].map(e => e.textContent);
		return l.length === 2 && l;
	})()`)
	slices.Sort(members)
	if !slices.Equal(members, []string{"Asha (you)", "Bilal"}) {
		t.Errorf("member list %q", members)
	}
	if count := value(t, b, "read the member count", chromedp.Text(chromedp.CSS(".member-count"))); !strings.Contains(count, "2 members") {
		t.Errorf("member count %q", count)
	}

	// Shift+Enter breaks the line; Enter sends the whole text.
	act(t, b, "type a two-line reply",
		chromedp.Click(chromedp.CSS("textarea.text")),
		chromedp.SendKeys(chromedp.CSS("textarea.text"), "first line"),
		pressEnter(true),
		chromedp.SendKeys(chromedp.CSS("textarea.text"), "second line"),
	)
	if v := value(t, b, "read the text box", chromedp.Value(chromedp.CSS("textarea.text"))); v != "first line\nsecond line" {
		t.Errorf("after Shift+Enter the text box holds %q, want two lines", v)
	}
	if hasText(bilal, room, "first line") || hasText(asha, room, "first line") {
		t.Errorf("Shift+Enter sent the message")
	}
	act(t, b, "press Enter", pressEnter(false))
	waitFor(t, "Bilal to receive the reply typed in the window", func() bool { return hasText(bilal, room, "first line\nsecond line") })
	until[bool](t, b, "the text box to empty and the reply to show as ours", `document.querySelector('textarea.text').value === '' &&
		[...document.querySelectorAll('.msg.own .body')].some(e => e.textContent === 'first line\nsecond line')`)

	// Live, and markup stays text.
	const hostile = `<img src=x onerror="window.pwned=1"><script>window.pwned=2</script><b>bold?</b>`
	if _, err := bilal.Send(ctx, room, "live from Bilal"); err != nil {
		t.Fatal(err)
	}
	if _, err := bilal.Send(ctx, room, hostile); err != nil {
		t.Fatal(err)
	}
	until[bool](t, b, "the live messages", `(() => {
		const l = [...document.querySelectorAll('.msg .body')].map(e => e.textContent);
		return l.includes('live from Bilal') && l.includes(`+jsString(hostile)+`);
	})()`)
	safety := value(t, b, "inspect the message list", chromedp.Evaluate[map[string]any](`({
		elements: document.querySelectorAll('.messages img, .messages script, .messages b').length,
		pwned: typeof window.pwned,
		visible: document.querySelector('.messages').innerText.includes('<img src=x onerror="window.pwned=1">'),
	})`))
	if safety["elements"] != float64(0) || safety["pwned"] != "undefined" || safety["visible"] != true {
		t.Errorf("markup in a message: %v; want no elements made, nothing run, the text visible", safety)
	}

	// The invite banner: we created the room, so we know its password.
	invite := until[string](t, b, "the invite banner", `(() => {
		const b = document.querySelector('.invite');
		return b && !b.hidden && b.querySelector('.invite-text').textContent;
	})()`)
	inv, err := asha.InviteFor(room)
	if err != nil {
		t.Fatal(err)
	}
	if invite != "Room "+string(room)+" · password "+inv.Password {
		t.Errorf("invite banner %q", invite)
	}

	// Copy puts the invite on the clipboard.
	act(t, b, "copy the invite", grantClipboard(ui.Origin()), chromedp.Click(chromedp.CSS(".invite button.copy")))
	until[bool](t, b, "the copy button to confirm", `document.querySelector('.invite button.copy').textContent === 'Copied'`)
	clip := value(t, b, "read the clipboard", chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if got, err := rooms.ParseInvite(clip); err != nil || got.Room != room || got.Password != inv.Password {
		t.Errorf("the clipboard holds %q: not an invite to the room (%v)", clip, err)
	}

	shot := value(t, b, "take a screenshot", chromedp.CaptureScreenshot())
	checkScreenshot(t, shot, "chat-window.png")

	// Mute (notify: nothing), then leave with confirmation; the window
	// says so.
	act(t, b, "mute", chromedp.Evaluate[chromedp.Void](`(() => {
		const s = document.querySelector('select.notify');
		s.value = 'none';
		s.dispatchEvent(new Event('change'));
	})()`))
	waitFor(t, "the room to be muted", func() bool { in, _ := asha.Room(room); return in.Muted })
	until[bool](t, b, "the level to show it", `document.querySelector('select.notify').value === 'none' && !document.querySelector('select.notify').disabled`)
	act(t, b, "ask to leave", chromedp.Click(chromedp.CSS("button.leave")))
	if _, err := asha.Room(room); err != nil {
		t.Fatalf("asking to leave left without confirmation: %v", err)
	}
	act(t, b, "confirm leaving", chromedp.Click(chromedp.CSS(".confirm-leave button.confirm")))
	until[bool](t, b, "the left page", `(() => { const h = document.querySelector('.gone-title'); return h && h.textContent === 'You left room `+string(room)+`'; })()`)
	if _, err := asha.Room(room); err == nil {
		t.Errorf("still in the room after leaving from the window")
	}
}

// The quick reply: few messages, the text box focused at once, a reply
// that arrives.
func TestUIQuickReply(t *testing.T) {
	asha, bilal, room := twoMembers(t)
	ctx := context.Background()
	for i := range 8 {
		if _, err := bilal.Send(ctx, room, "burst "+string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the burst to arrive", func() bool { return hasText(asha, room, "burst h") })
	ui := startUI(t, asha, web.UIOptions{})
	b := browser(t, 2*time.Minute)
	act(t, b, "open the quick reply", chromedp.Navigate(ui.LaunchURL(web.QuickView(room))))
	shown := until[[]string](t, b, "the latest messages", `(() => {
		const l = [...document.querySelectorAll('.msg .body')].map(e => e.textContent);
		return l.includes('burst h') && l;
	})()`)
	if len(shown) > 5 || shown[len(shown)-1] != "burst h" {
		t.Errorf("quick reply shows %q, want the last few, newest last", shown)
	}
	if id := value(t, b, "read the focused element", chromedp.Evaluate[string](`document.activeElement && document.activeElement.id`)); id != "text" {
		t.Errorf("focused element %q, want the text box", id)
	}
	// Type straight away, as after a notification click.
	act(t, b, "type a reply", chromedp.KeyEvent("on my way"), pressEnter(false))
	waitFor(t, "Bilal to receive the quick reply", func() bool { return hasText(bilal, room, "on my way") })
	// The broker's acknowledgement may come after Bilal has the message.
	until[bool](t, b, "the send to finish", `(() => { const ta = document.querySelector('textarea.text'); return !ta.disabled && ta.value === ''; })()`)

	// Near the limit a counter shows; over it, nothing is sent.
	paste := func(n int) {
		act(t, b, "paste a long text", chromedp.Evaluate[chromedp.Void](`(() => {
			const ta = document.querySelector('textarea.text');
			ta.value = 'é'.repeat(`+strconv.Itoa(n/2)+`);
			ta.dispatchEvent(new Event('input'));
		})()`))
	}
	paste(4000)
	if got := until[string](t, b, "the byte counter", `(() => { const c = document.querySelector('.counter'); return !c.hidden && c.textContent; })()`); got != "4000 / 4096 bytes" {
		t.Errorf("counter at 4000 bytes: %q", got)
	}
	paste(4098)
	over := value(t, b, "read the counter", chromedp.Evaluate[[]any](`[document.querySelector('.counter').textContent, document.querySelector('button.send').disabled]`))
	if over[0] != "4098 / 4096 bytes: too long to send" || over[1] != true {
		t.Errorf("over the limit: counter %q, send disabled %v", over[0], over[1])
	}
	act(t, b, "press Enter on the long text", chromedp.Focus(chromedp.CSS("textarea.text")), pressEnter(false))
	if got := until[string](t, b, "the too-long error", `(() => { const e = document.querySelector('.composer .error'); return !e.hidden && e.textContent; })()`); !strings.Contains(got, "too long") {
		t.Errorf("error for a long message: %q", got)
	}
	if hist, _ := asha.History(room); len(hist) != 9 {
		t.Errorf("history has %d messages after the refused send, want 9", len(hist))
	}
}

// The join and create forms: errors as sentences, a join that lands in
// the room, a created room whose shown invite lets another member in.
func TestUIJoinAndCreateForms(t *testing.T) {
	broker, dsn := tbBroker(t), "sqlite://"+t.TempDir()+"/r.db"
	asha, bilal := tbService(t, "Asha", broker, dsn), tbService(t, "Bilal", broker, dsn)
	inv, err := bilal.Create(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	ui := startUI(t, asha, web.UIOptions{})
	b := browser(t, 3*time.Minute)
	act(t, b, "open the join form", chromedp.Navigate(ui.LaunchURL(web.View{Kind: web.ViewJoin})),
		chromedp.WaitVisible(chromedp.ID("join-room")))

	joinErr := func(room, password string) string {
		t.Helper()
		act(t, b, "fill in the join form",
			chromedp.SetValue(chromedp.ID("join-room"), room),
			chromedp.SetValue(chromedp.ID("join-password"), password),
			chromedp.Evaluate[chromedp.Void](`document.querySelector('.join-form .error').hidden = true`),
			chromedp.Click(chromedp.CSS(".join-form button[type=submit]")),
		)
		return until[string](t, b, "the join error", `(() => {
			const e = document.querySelector('.join-form .error');
			return e && !e.hidden && !e.textContent.startsWith('Joining') && e.textContent;
		})()`)
	}
	if got := joinErr("12345", "whatever"); !strings.Contains(got, "9 digits") {
		t.Errorf("bad number: %q", got)
	}
	if got := joinErr("123456789", "whatever1"); got != "There is no room 123456789. Check the number." {
		t.Errorf("unknown room: %q", got)
	}
	if got := joinErr(string(inv.Room), "not the password"); !strings.HasPrefix(got, "That is not the password of room "+string(inv.Room)) {
		t.Errorf("wrong password: %q", got)
	}
	// Typed the way people read it out: grouped.
	grouped := string(inv.Room[:3]) + " " + string(inv.Room[3:6]) + " " + string(inv.Room[6:])
	act(t, b, "join with the right password",
		chromedp.SetValue(chromedp.ID("join-room"), grouped),
		chromedp.SetValue(chromedp.ID("join-password"), inv.Password),
		chromedp.Click(chromedp.CSS(".join-form button[type=submit]")),
	)
	until[bool](t, b, "the room view after joining", `location.hash === '#/room/`+string(inv.Room)+`' && !!document.querySelector('.room-title')`)
	if _, err := asha.Room(inv.Room); err != nil {
		t.Errorf("the join form did not join: %v", err)
	}

	// Create, with a password too short, then with a generated one.
	act(t, b, "open the create form", chromedp.Navigate(ui.LaunchURL(web.View{Kind: web.ViewCreate})),
		chromedp.WaitVisible(chromedp.ID("create-password")),
		chromedp.SendKeys(chromedp.ID("create-password"), "short"),
		chromedp.Click(chromedp.CSS(".create-form button[type=submit]")),
	)
	if got := until[string](t, b, "the create error", `(() => { const e = document.querySelector('.create-form .error'); return !e.hidden && e.textContent; })()`); !strings.Contains(got, "at least 8 characters") {
		t.Errorf("short password: %q", got)
	}
	act(t, b, "create with a generated password",
		chromedp.Focus(chromedp.ID("create-password")),
		chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		chromedp.KeyEvent(kb.Backspace),
		chromedp.Click(chromedp.CSS(".create-form button[type=submit]")),
	)
	created := until[[]string](t, b, "the new room's invite", `(() => {
		const d = document.querySelector('.created');
		return d && !d.hidden && [d.querySelector('.created-room').textContent, d.querySelector('.created-password').textContent];
	})()`)
	newRoom, err := rooms.ParseID(created[0])
	if err != nil {
		t.Fatalf("the create form shows room %q: %v", created[0], err)
	}
	if _, err := asha.Room(newRoom); err != nil {
		t.Errorf("the create form did not create and join room %s: %v", newRoom, err)
	}
	// What the window shows is what the other person needs.
	if err := bilal.Join(context.Background(), newRoom, created[1]); err != nil {
		t.Errorf("joining with the shown invite (%s, %q): %v", newRoom, created[1], err)
	}
	act(t, b, "open the new room", chromedp.Click(chromedp.CSS(".created .open-room")))
	until[bool](t, b, "the new room's view", `location.hash === '#/room/`+string(newRoom)+`'`)

	// A password easy to guess: the reason, and a box to insist on it.
	const weak = "summer2024!"
	act(t, b, "create with a weak password", chromedp.Navigate(ui.LaunchURL(web.View{Kind: web.ViewCreate})),
		chromedp.WaitVisible(chromedp.ID("create-password")),
		chromedp.SendKeys(chromedp.ID("create-password"), weak),
		chromedp.Click(chromedp.CSS(".create-form button[type=submit]")),
	)
	if got := until[string](t, b, "the weak-password error", `(() => { const e = document.querySelector('.create-form .error'); return !e.hidden && e.textContent; })()`); !strings.Contains(got, "estimated") || !strings.Contains(got, "a common password") {
		t.Errorf("weak password: %q", got)
	}
	until[bool](t, b, "the box to insist", `!document.querySelector('.create-form .weak-ok').hidden`)
	shot := value(t, b, "take a screenshot", chromedp.CaptureScreenshot())
	checkScreenshot(t, shot, "create-weak-password.png")
	act(t, b, "insist on it",
		chromedp.WaitVisible(chromedp.ID("create-weak")),
		chromedp.Click(chromedp.ID("create-weak")),
		chromedp.Click(chromedp.CSS(".create-form button[type=submit]")),
	)
	if got := until[string](t, b, "the room made with the weak password", `(() => {
		const d = document.querySelector('.created');
		return d && !d.hidden && d.querySelector('.created-password').textContent;
	})()`); got != weak {
		t.Errorf("the room was created with password %q, want %q", got, weak)
	}
}

// grantClipboard lets pages of origin use the clipboard without asking,
// as a webview does.
func grantClipboard(origin string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		br := chromedp.FromContext(ctx).Browser
		for _, name := range []string{"clipboard-read", "clipboard-write"} {
			if _, err := cdp.Call(ctx, br, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
				Permission: &cdpbrowser.PermissionDescriptor{Name: name}, Setting: cdpbrowser.PermissionSettingGranted, Origin: origin,
			}); err != nil {
				return err
			}
		}
		return nil
	})
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`, "<", `\x3c`)
	return "'" + r.Replace(s) + "'"
}

// A message that arrives live while the window's history read is on its
// way is newer than that read: the read's answer must not take it off
// the screen. A proxy in front of the chat UI lets the daemon answer the
// read, and holds the answer until the live message is shown.
func TestUILiveMessageOutlivesAnOlderHistory(t *testing.T) {
	asha, bilal, room := twoMembers(t)
	ui := startUI(t, asha, web.UIOptions{})
	proxy := testenv.SameOriginProxy(t, ui.Origin())
	var hold atomic.Bool
	hold.Store(true)
	held, release := make(chan struct{}, 8), make(chan struct{})
	history := "/v1/rooms/" + string(room) + "/messages"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != history || !hold.Load() {
			proxy.ServeHTTP(w, r)
			return
		}
		answer := httptest.NewRecorder()
		proxy.ServeHTTP(answer, r) // the daemon answers now…
		held <- struct{}{}
		<-release // …and the page gets the answer later
		maps.Copy(w.Header(), answer.Header())
		w.WriteHeader(answer.Code)
		w.Write(answer.Body.Bytes())
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { hold.Store(false); close(release) })

	b := browser(t, 2*time.Minute)
	act(t, b, "open the room through the proxy", chromedp.Navigate(strings.Replace(ui.LaunchURL(web.RoomView(room)), ui.Origin(), srv.URL, 1)))
	select {
	case <-held:
	case <-time.After(30 * time.Second):
		t.Fatal("the page read no history")
	}
	until[bool](t, b, "the event stream", `document.documentElement.dataset.stream === 'open'`)
	if _, err := bilal.Send(t.Context(), room, "while the history loads"); err != nil {
		t.Fatal(err)
	}
	until[bool](t, b, "the live message", `[...document.querySelectorAll('.msg .body')].some(e => e.textContent === 'while the history loads')`)
	act(t, b, "watch the message list", chromedp.Evaluate[chromedp.Void](`(() => {
		window.liveRemoved = false;
		new MutationObserver(ms => {
			for (const m of ms) for (const n of m.removedNodes) if (n.textContent.includes('while the history loads')) window.liveRemoved = true;
		}).observe(document.querySelector('.messages'), { childList: true });
	})()`))
	hold.Store(false)
	release <- struct{}{}
	// The page reads the history again (the stream's open asked for it),
	// and that read holds the message: wait for it to be answered.
	until[bool](t, b, "the history reads to end", `performance.getEntriesByType('resource').filter(e => e.name.endsWith(`+jsString(history)+`)).length >= 2`)
	if removed := value(t, b, "read the observer", chromedp.Evaluate[bool](`window.liveRemoved`)); removed {
		t.Error("the answer to a history read sent before the message took the message off the screen")
	}
}

// Every view renders from the page's ES modules, and none throws: the
// home view lists the room, the settings view fills in the name, the join
// view its number, the create form shows, the quick reply shows the room.
func TestUIEveryView(t *testing.T) {
	broker, dsn := tbBroker(t), "sqlite://"+filepath.Join(t.TempDir(), "r.db")
	asha := tbService(t, "Asha", broker, dsn)
	inv, err := asha.Create(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	room := string(inv.Room)
	ui := startUI(t, asha, web.UIOptions{})
	b := browser(t, 2*time.Minute)
	act(t, b, "open the home view", chromedp.Navigate(ui.LaunchURL(web.View{Kind: web.ViewHome})))
	until[bool](t, b, "the room in the list", `[...document.querySelectorAll('.room-list .room-number')].some(e => e.textContent === 'Room `+room+`')`)
	act(t, b, "catch errors", chromedp.Evaluate[chromedp.Void](`(() => {
		window.caught = [];
		window.addEventListener('error', e => window.caught.push(String(e.message)));
		window.addEventListener('unhandledrejection', e => window.caught.push(String(e.reason)));
	})()`))
	for _, v := range []struct{ hash, ready string }{
		{"#/settings", `document.querySelector('#set-name') && document.querySelector('#set-name').value === 'Asha'`},
		{"#/create", `!!document.querySelector('.create-form #create-password')`},
		{"#/join/" + room, `document.querySelector('#join-room') && document.querySelector('#join-room').value === '` + room + `'`},
		{"#/quick/" + room, `(() => { const h = document.querySelector('.quick .room-title'); return !!h && h.textContent === 'Room ` + room + `'; })()`},
		{"#/", `document.querySelectorAll('.room-list li').length === 1`},
	} {
		act(t, b, "go to "+v.hash, chromedp.Evaluate[chromedp.Void](`location.hash = `+jsString(v.hash)))
		until[bool](t, b, v.hash, v.ready)
	}
	if caught := value(t, b, "read the errors", chromedp.Evaluate[[]string](`window.caught`)); len(caught) != 0 {
		t.Errorf("the page threw: %q", caught)
	}
}

// The leave view (what the tray's Leave opens for a room that leaving
// would close) is the room asking at once, in those words, with Stay
// focused; Stay keeps the room, Leave leaves it. A room with another
// member present asks in the usual words.
func TestUILeaveView(t *testing.T) {
	asha, bilal, shared := twoMembers(t)
	inv, err := asha.Create(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	alone := string(inv.Room)
	ui := startUI(t, asha, web.UIOptions{})
	b := browser(t, 2*time.Minute)
	question := func(what string) string {
		return until[string](t, b, what, `(() => {
			const box = document.querySelector('.confirm-leave'), q = document.querySelector('.leave-question');
			return box && !box.hidden && document.activeElement === box.querySelector('.cancel') && q.textContent;
		})()`)
	}

	act(t, b, "open the leave view of the room with Bilal", chromedp.Navigate(ui.LaunchURL(web.LeaveView(shared))))
	until[bool](t, b, "the room's details", `document.querySelectorAll('.members li').length === 2`)
	if got := question("the question"); !strings.Contains(got, "the room closes if you are its last member") {
		t.Errorf("the question for a room with another member: %q", got)
	}

	act(t, b, "open the leave view of the room alone", chromedp.Navigate(ui.LaunchURL(web.LeaveView(inv.Room))))
	until[bool](t, b, "the room's details", `document.querySelectorAll('.members li').length === 1`)
	if got, want := question("the question"), "Leave room "+alone+"? You are its last member: leaving closes the room."; got != want {
		t.Errorf("the question for the last member: %q, want %q", got, want)
	}
	act(t, b, "stay", chromedp.Click(chromedp.CSS(".confirm-leave button.cancel")))
	until[bool](t, b, "the question gone, the room shown", `document.querySelector('.confirm-leave').hidden && !!document.querySelector('.room-title')`)
	if _, err := asha.Room(inv.Room); err != nil {
		t.Fatalf("Stay left the room: %v", err)
	}
	act(t, b, "ask again", chromedp.Click(chromedp.CSS("button.leave")))
	act(t, b, "leave", chromedp.Click(chromedp.CSS(".confirm-leave button.confirm")))
	until[bool](t, b, "the left page", `(() => { const h = document.querySelector('.gone-title'); return h && h.textContent === 'You left room `+alone+`'; })()`)
	if _, err := asha.Room(inv.Room); err == nil {
		t.Errorf("still in the room after leaving from the leave view")
	}
	if _, err := bilal.Room(shared); err != nil {
		t.Errorf("Bilal left the shared room: %v", err)
	}
}
