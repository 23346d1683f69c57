package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
	"github.com/sunoye/sunoye/web"
)

// axeViolation is one rule axe-core found broken, with where.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

// axeCheck runs axe-core on the page as it is and fails the test for
// each serious or critical violation; what was checked is named by what.
func axeCheck(t *testing.T, b context.Context, src, what string) {
	t.Helper()
	for _, v := range axeRun(t, b, src, what) {
		msg := fmt.Sprintf("%s: axe %s (%s): %s, at %s", what, v.ID, v.Impact, v.Help, strings.Join(v.Targets, ", "))
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Error(msg)
		} else {
			t.Log(msg)
		}
	}
}

// axeRun runs axe-core on the page and returns its violations.
func axeRun(t *testing.T, b context.Context, src, what string) []axeViolation {
	t.Helper()
	loaded := value(t, b, "look for axe", chromedp.Evaluate[bool](`typeof window.axe === 'object'`))
	if !loaded {
		act(t, b, "load axe-core", chromedp.Evaluate[chromedp.Void](src))
	}
	return value(t, b, "run axe-core on "+what, chromedp.Evaluate[[]axeViolation](`axe.run(document, { resultTypes: ['violations'] }).then(r =>
		r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(n => n.target.join(' ')) })))`, chromedp.EvalAwaitPromise))
}

// colorScheme emulates the desktop's light or dark theme.
func colorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		})
		return err
	})
}

// bypassCSP lets the test put axe-core into the page, which the page's
// Content-Security-Policy would refuse (as it should anything else).
func bypassCSP() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true})
		return err
	})
}

// axe-core (pinned, testenv.AxeCoreVersion) finds no serious or critical
// violation in any view of the chat UI, in the light and the dark theme:
// home, create (form and answer), join (with an error), settings, the
// room (links, mentions, the unread line, typing, the invite, the leave
// question), the quick reply and the page of a room left.
func TestUIAccessibility(t *testing.T) {
	src := testenv.AxeCore(t)
	asha, bilal, room := twoMembers(t)
	for _, text := range []string{"hello @Asha, see https://example.com/docs", "@room lunch?"} {
		if _, err := bilal.Send(t.Context(), room, text); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the messages", func() bool { return hasText(asha, room, "@room lunch?") })
	if _, err := asha.Send(t.Context(), room, "my own, with https://example.org"); err != nil {
		t.Fatal(err)
	}
	ui := startUI(t, asha, web.UIOptions{})
	b := browser(t, 4*time.Minute)
	act(t, b, "prepare the page", bypassCSP())
	for _, scheme := range []string{"light", "dark"} {
		check := func(what string) { t.Helper(); axeCheck(t, b, src, scheme+" "+what) }
		act(t, b, "use the "+scheme+" theme", colorScheme(scheme))
		act(t, b, "open the home view", chromedp.Navigate(ui.LaunchURL(web.View{Kind: web.ViewHome})))
		until[bool](t, b, "the room list", `document.querySelectorAll('.room-list li').length === 1`)
		if scheme == "light" {
			// axe does see: a button without a name and grey on grey,
			// planted for a moment, are found.
			act(t, b, "plant violations", chromedp.Evaluate[chromedp.Void](`(() => {
				const d = document.createElement('div'); d.id = 'planted';
				const bt = document.createElement('button'); d.append(bt);
				const p = document.createElement('p'); p.textContent = 'faint'; p.className = 'planted-faint'; d.append(p);
				document.querySelector('.page').append(d);
				p.style.color = '#aaa';
			})()`))
			found := map[string]bool{}
			for _, v := range axeRun(t, b, src, "planted violations") {
				found[v.ID] = true
			}
			if !found["button-name"] || !found["color-contrast"] {
				t.Errorf("axe-core did not find the planted violations: %v", found)
			}
			act(t, b, "remove them", chromedp.Evaluate[chromedp.Void](`document.getElementById('planted').remove()`))
		}
		check("home")

		// A message while no window shows the room: unread.
		if _, err := bilal.Send(t.Context(), room, "unread, "+scheme); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the unread message", func() bool { in, _ := asha.Room(room); return hasText(asha, room, "unread, "+scheme) && in.Unread > 0 })
		act(t, b, "open the room", chromedp.Evaluate[chromedp.Void](`location.hash = '#/room/`+string(room)+`'`))
		until[bool](t, b, "the room with its messages", `[...document.querySelectorAll('.msg .body')].some(e => e.textContent === 'unread, `+scheme+`') && !document.querySelector('.invite').hidden`)
		if scheme == "light" {
			// (Once: a second signal within rooms.TypingEvery is not sent.)
			if err := bilal.Typing(t.Context(), room); err != nil {
				t.Fatal(err)
			}
			until[bool](t, b, "Bilal typing", `document.querySelector('.typing').textContent === 'Bilal is typing…'`)
		}
		until[bool](t, b, "the unread line", `(() => { const l = document.querySelector('.unread-line'); return !!l && !l.nextElementSibling.classList.contains('own'); })()`)
		if scheme == "light" {
			shot := value(t, b, "take a screenshot", chromedp.CaptureScreenshot())
			checkScreenshot(t, shot, "chat-features.png")
		}
		act(t, b, "show a composer error", chromedp.Evaluate[chromedp.Void](`(() => {
			const e = document.querySelector('.composer .error'); e.textContent = 'Not sent: example'; e.hidden = false;
		})()`))
		check("room")
		act(t, b, "ask to leave", chromedp.Click(chromedp.CSS("button.leave")))
		until[bool](t, b, "the question", `!document.querySelector('.confirm-leave').hidden`)
		check("room, asking to leave")

		act(t, b, "open the quick reply", chromedp.Evaluate[chromedp.Void](`location.hash = '#/quick/`+string(room)+`'`))
		until[bool](t, b, "the quick reply", `document.querySelectorAll('.quick .msg').length >= 4`)
		check("quick reply")

		act(t, b, "open the create form", chromedp.Evaluate[chromedp.Void](`location.hash = '#/create'`))
		until[bool](t, b, "the create form", `!!document.querySelector('#create-password')`)
		act(t, b, "type a weak password", chromedp.SendKeys(chromedp.ID("create-password"), "summer2024!"), chromedp.Click(chromedp.CSS(".create-form button[type=submit]")))
		until[bool](t, b, "the weak-password question", `!document.querySelector('.weak-ok').hidden`)
		check("create, weak password")

		act(t, b, "open the join form", chromedp.Evaluate[chromedp.Void](`location.hash = '#/join'`))
		until[bool](t, b, "the join form", `!!document.querySelector('#join-room')`)
		act(t, b, "submit it empty", chromedp.Click(chromedp.CSS(".join-form button[type=submit]")))
		until[bool](t, b, "the join error", `!document.querySelector('.join-form .error').hidden`)
		check("join, with an error")

		act(t, b, "open the settings", chromedp.Evaluate[chromedp.Void](`location.hash = '#/settings'`))
		until[bool](t, b, "the settings", `document.querySelector('#set-name') && document.querySelector('#set-name').value === 'Asha'`)
		check("settings")
	}

	// Last: create (the answer), and the page of a room left.
	act(t, b, "create a room", chromedp.Evaluate[chromedp.Void](`location.hash = '#/create'`))
	until[bool](t, b, "the create form", `!!document.querySelector('#create-password')`)
	act(t, b, "submit", chromedp.Click(chromedp.CSS(".create-form button[type=submit]")))
	until[bool](t, b, "the new room", `!document.querySelector('.created').hidden`)
	axeCheck(t, b, src, "dark create, done")
	act(t, b, "open it", chromedp.Click(chromedp.CSS(".created .open-room")))
	until[bool](t, b, "its view", `!!document.querySelector('button.leave')`)
	act(t, b, "leave it", chromedp.Click(chromedp.CSS("button.leave")), chromedp.Click(chromedp.CSS(".confirm-leave button.confirm")))
	until[bool](t, b, "the left page", `!!document.querySelector('.gone-title')`)
	axeCheck(t, b, src, "dark room left")
}

// mustID parses a room number shown in the page.
func mustID(t *testing.T, s string) rooms.ID {
	t.Helper()
	id, err := rooms.ParseID(s)
	if err != nil {
		t.Fatalf("room number %q: %v", s, err)
	}
	return id
}

// press presses key (kb.Tab, kb.Enter, …) with shift if set.
func press(key string, shift bool) chromedp.Action[chromedp.Void] {
	if key == kb.Enter {
		return pressEnter(shift)
	}
	if shift {
		return chromedp.KeyEvent(key, chromedp.KeyModifiers(chromedp.ModifierShift))
	}
	return chromedp.KeyEvent(key)
}

// tabTo presses Tab (Shift+Tab with back) until the focused element
// matches sel, failing after a screenful of presses.
func tabTo(t *testing.T, b context.Context, sel string, back bool) {
	t.Helper()
	const most = 30
	for range most {
		if value(t, b, "read the focus", chromedp.Evaluate[bool](`!!document.activeElement && document.activeElement.matches(`+jsString(sel)+`)`)) {
			return
		}
		act(t, b, "press Tab", press(kb.Tab, back))
	}
	t.Fatalf("%d Tab presses did not reach %s; the focus is on %s", most, sel,
		value(t, b, "read the focus", chromedp.Evaluate[string](`document.activeElement ? document.activeElement.outerHTML.slice(0, 200) : 'nothing'`)))
}

// The keyboard alone creates a room, sends to it, leaves it, joins
// another and sends there: Tab, Shift+Tab, Enter and typing, no clicks.
func TestUIKeyboardOnly(t *testing.T) {
	broker, dsn := tbBroker(t), "sqlite://"+t.TempDir()+"/r.db"
	asha, bilal := tbService(t, "Asha", broker, dsn), tbService(t, "Bilal", broker, dsn)
	inv, err := bilal.Create(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	ui := startUI(t, asha, web.UIOptions{})
	b := browser(t, 3*time.Minute)
	act(t, b, "open the window", focusPage(true), chromedp.Navigate(ui.LaunchURL(web.View{Kind: web.ViewHome})))
	until[bool](t, b, "the home view", `!!document.querySelector('.room-list') && document.documentElement.dataset.stream === 'open'`)

	// Create.
	tabTo(t, b, `a[href="#/create"]`, false)
	act(t, b, "open the create form", press(kb.Enter, false))
	until[bool](t, b, "the password box focused", `document.activeElement && document.activeElement.id === 'create-password'`)
	act(t, b, "create with a generated password", press(kb.Enter, false))
	until[bool](t, b, "the new room, Open room focused", `!document.querySelector('.created').hidden && document.activeElement.matches('.created .open-room')`)
	created := value(t, b, "read the room", chromedp.Evaluate[string](`document.querySelector('.created-room').textContent`))
	act(t, b, "open the room", press(kb.Enter, false))
	until[bool](t, b, "the room, its text box focused", `location.hash === '#/room/`+created+`' && document.activeElement.matches('textarea.text')`)

	// Send.
	act(t, b, "type and send", chromedp.KeyEvent("typed, not clicked"), press(kb.Enter, false))
	waitFor(t, "the message sent", func() bool { return hasText(asha, mustID(t, created), "typed, not clicked") })

	// Leave: Shift+Tab back to Leave room…, Enter; Stay has the focus,
	// Shift+Tab to Leave, Enter.
	until[bool](t, b, "the text box free again", `!document.querySelector('textarea.text').disabled`)
	tabTo(t, b, "button.leave", true)
	act(t, b, "ask to leave", press(kb.Enter, false))
	until[bool](t, b, "the question, Stay focused", `!document.querySelector('.confirm-leave').hidden && document.activeElement.matches('.confirm-leave .cancel')`)
	tabTo(t, b, ".confirm-leave .confirm", true)
	act(t, b, "leave", press(kb.Enter, false))
	until[bool](t, b, "the left page", `(() => { const h = document.querySelector('.gone-title'); return !!h && h.textContent === 'You left room `+created+`'; })()`)
	if _, err := asha.Room(mustID(t, created)); err == nil {
		t.Error("still in the room after leaving by keyboard")
	}

	// Join Bilal's room, from the home view.
	tabTo(t, b, `a[href="#/"]`, false)
	act(t, b, "go home", press(kb.Enter, false))
	until[bool](t, b, "the home view", `location.hash === '#/' || location.hash === ''`)
	tabTo(t, b, `a[href="#/join"]`, false)
	act(t, b, "open the join form", press(kb.Enter, false))
	until[bool](t, b, "the number box focused", `document.activeElement && document.activeElement.id === 'join-room'`)
	act(t, b, "type the number and password", chromedp.KeyEvent(string(inv.Room)), press(kb.Tab, false))
	until[bool](t, b, "the password box focused", `document.activeElement.id === 'join-password'`)
	act(t, b, "type the password and join", chromedp.KeyEvent(inv.Password), press(kb.Enter, false))
	until[bool](t, b, "the joined room, its text box focused", `location.hash === '#/room/`+string(inv.Room)+`' && document.activeElement.matches('textarea.text')`)
	act(t, b, "say hello", chromedp.KeyEvent("hello Bilal"), press(kb.Enter, false))
	waitFor(t, "Bilal to receive it", func() bool { return hasText(bilal, inv.Room, "hello Bilal") })
}
