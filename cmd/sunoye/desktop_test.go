package main

import (
	"fmt"
	"image"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
)

// The desktop, end to end, the way a user meets it: a daemon with a tray
// icon and notifications on a private session bus and an X display, and a
// second, headless daemon to chat with.
//
//   - a message from the other member pops exactly one notification,
//     titled with the sender and the room, the text as its body;
//   - own messages, a muted room and do-not-disturb pop none;
//   - clicking the notification opens the room's chat window (a real
//     webview), which shows the room; a reply typed into it reaches the
//     other member;
//   - closing the window does not leave the room; `sunoye open` opens it
//     again;
//   - the tray menu lists the room; its Quit leaves the room cleanly.
func TestDesktop(t *testing.T) {
	display := testenv.Xvfb(t)
	bus := testenv.SessionBus(t)
	notes := testenv.NotificationServer(t, bus, testenv.NotificationCapabilities("actions", "body", "body-markup"))
	watcher := testenv.StatusNotifierWatcher(t, bus)
	xdotoolBin := testenv.NeedBinary(t, "xdotool", "xdotool")
	xdotool := func(args ...string) *exec.Cmd {
		cmd := exec.Command(xdotoolBin, args...)
		cmd.Env = append(os.Environ(), "DISPLAY="+display)
		return cmd
	}

	// Bilal runs the embedded broker: Asha quits at the end, and the
	// others must stay connected to see her go.
	b := embeddedBackend(t)
	bilal := testenv.StartDaemon(t, testenv.DaemonConfig{Broker: b.first, DB: b.db, Name: "Bilal"})
	asha := testenv.StartDaemon(t, testenv.DaemonConfig{
		Broker: b.others, DB: b.db, Name: "Asha",
		Args: []string{}, // not headless
		Env:  []string{"DISPLAY=" + display, "DBUS_SESSION_BUS_ADDRESS=" + bus, "NO_AT_BRIDGE=1"},
	})

	var item string
	select {
	case item = <-watcher.Registered:
	case <-time.After(30 * time.Second):
		t.Fatalf("the tray icon did not register\n%s", tail(asha.Log(), 20))
	}

	inv := create(t, asha)
	must(t, bilal, "join", inv.Room, "--password", inv.Password)

	// A message from Bilal: one notification.
	must(t, bilal, "send", inv.Room, "hello <b>Asha</b>")
	calls := notes.WaitCalls(t, 1, 20*time.Second)
	n := calls[0]
	st, err := bilal.Client().Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// The sender shows with the start of its member id (names can be
	// borrowed).
	if n.Summary != rooms.Label("Bilal", rooms.MemberID(st.Member))+" · room "+inv.Room || n.Body != "hello &lt;b&gt;Asha&lt;/b&gt;" {
		t.Errorf("notification %q / %q, want Bilal's message with its markup escaped", n.Summary, n.Body)
	}
	if _, ok := n.Action("default"); !ok {
		t.Errorf("notification has no default action: %v", n.Actions)
	}

	// Nothing for own messages, a muted room, or do-not-disturb: after
	// each, a marker message must be the next notification.
	marker := 0
	nextIsMarker := func(why string) {
		t.Helper()
		marker++
		text := fmt.Sprintf("marker %d", marker)
		must(t, bilal, "send", inv.Room, text)
		calls := notes.WaitCalls(t, 1+marker, 20*time.Second)
		if got := calls[len(calls)-1].Body; got != text || len(calls) != 1+marker {
			t.Errorf("after %s: notifications %d, last %q; want the marker only", why, len(calls), got)
		}
	}
	must(t, asha, "send", inv.Room, "my own message")
	nextIsMarker("an own message")
	// Bilal's send returns once the broker has his message, before Asha
	// has shown it: wait for that, or it may come after the unmute.
	shownToAsha := func(text string) {
		t.Helper()
		eventually(t, 20*time.Second, func() error {
			for _, m := range history(t, asha, inv.Room) {
				if m.Text == text {
					return nil
				}
			}
			return fmt.Errorf("Asha has not shown %q", text)
		})
	}
	must(t, asha, "mute", inv.Room)
	must(t, bilal, "send", inv.Room, "while muted")
	shownToAsha("while muted")
	must(t, asha, "unmute", inv.Room)
	nextIsMarker("a muted room")
	must(t, asha, "dnd", "on")
	must(t, bilal, "send", inv.Room, "while do not disturb")
	shownToAsha("while do not disturb")
	must(t, asha, "dnd", "off")
	nextIsMarker("do not disturb")

	// The notifications started the window process, so that their
	// click finds it ready.
	eventually(t, 30*time.Second, func() error {
		for _, pid := range processTree(asha.PID())[1:] {
			if testenv.ProcessName(pid) == "sunoye-window" {
				return nil
			}
		}
		return fmt.Errorf("no window process after a notification")
	})

	// Clicking the notification opens the room's window, titled with
	// the room.
	last := notes.Calls()[len(notes.Calls())-1]
	notes.Invoke(last.ID, "default")
	var win string
	eventually(t, 30*time.Second, func() error {
		ids := testenv.Windows(t, display, "^Room "+inv.Room)
		if len(ids) == 1 {
			win = strconv.FormatUint(uint64(ids[0]), 10)
			if title := testenv.WindowTitle(t, display, ids[0]); title != "Room "+inv.Room+" — SunOye" {
				t.Errorf("the room's window is titled %q", title)
			}
			return nil
		}
		return fmt.Errorf("%d windows for room %s\n%s", len(ids), inv.Room, tail(asha.Log(), 10))
	})
	eventually(t, 30*time.Second, func() error {
		img := testenv.Screenshot(t, display, "desktop-window")
		if c := testenv.Colors(img, image.Rect(0, 0, 440, 640)); c < 32 {
			return fmt.Errorf("the window looks blank: %d colours", c)
		}
		return nil
	})

	// A reply typed into the window reaches Bilal. The quick-reply view
	// puts the cursor in the text box.
	for _, args := range [][]string{
		{"windowfocus", "--sync", win},
		{"type", "--delay", "20", "reply from the window"},
		{"key", "Return"},
	} {
		if out, err := xdotool(args...).CombinedOutput(); err != nil {
			t.Fatalf("xdotool %v: %v %s", args, err, out)
		}
	}
	eventually(t, 20*time.Second, func() error {
		for _, m := range history(t, bilal, inv.Room) {
			if m.From == "Asha" && m.Text == "reply from the window" {
				return nil
			}
		}
		return fmt.Errorf("Bilal did not get the reply typed into the window: %q", texts(history(t, bilal, inv.Room)))
	})

	// Closing the window (its close button) does not leave the room,
	// and the room's window opens again from the command line, in the
	// same window process.
	windowProcs := func() []int {
		var pids []int
		for _, pid := range processTree(asha.PID())[1:] {
			if testenv.ProcessName(pid) == "sunoye-window" {
				pids = append(pids, pid)
			}
		}
		return pids
	}
	host := windowProcs()
	if len(host) != 1 {
		t.Fatalf("window processes: %v, want one", host)
	}
	id, _ := strconv.ParseUint(win, 10, 32)
	testenv.CloseWindow(t, display, uint32(id))
	eventually(t, 20*time.Second, func() error {
		if ids := testenv.Windows(t, display, "^Room "+inv.Room); len(ids) != 0 {
			return fmt.Errorf("the window is still there")
		}
		return nil
	})
	if _, ok := findRoom(roomsJSON(t, asha), inv.Room); !ok {
		t.Fatal("closing the window left the room")
	}
	must(t, asha, "open", inv.Room)
	eventually(t, 30*time.Second, func() error {
		if ids := testenv.Windows(t, display, "^Room "+inv.Room); len(ids) != 1 {
			return fmt.Errorf("sunoye open did not bring the window back")
		}
		return nil
	})
	if again := windowProcs(); len(again) != 1 || again[0] != host[0] {
		t.Errorf("window processes after reopening: %v, want the same one, %v", again, host)
	}

	// The tray's Leave on a room Asha is alone in asks first, in a window
	// of its own, and leaves nothing by itself.
	menu := testenv.NewTrayItem(t, bus, item).Menu(t)
	lone := create(t, asha)
	leave := menu.WaitFor(t, "the lone room in the tray menu", func(root *testenv.MenuNode) bool {
		return root.Find(lone.Room, "Leave") != nil
	}).Find(lone.Room, "Leave")
	menu.Click(t, leave.ID)
	eventually(t, 30*time.Second, func() error {
		if out, _ := xdotool("search", "--name", "^Leave room "+lone.Room).Output(); len(strings.Fields(string(out))) != 1 {
			return fmt.Errorf("no window asking to leave room %s\n%s", lone.Room, tail(asha.Log(), 10))
		}
		return nil
	})
	if _, ok := findRoom(roomsJSON(t, asha), lone.Room); !ok {
		t.Fatal("the tray's Leave left the last seat without asking")
	}

	// The tray menu lists the room; Quit leaves it cleanly.
	root := menu.WaitFor(t, "the room in the tray menu", func(root *testenv.MenuNode) bool {
		return strings.Contains(root.Text(), inv.Room)
	})
	quit := root.Find("Quit")
	if quit == nil {
		t.Fatalf("no Quit in the tray menu:\n%s", root.Text())
	}
	menu.Click(t, quit.ID)
	eventually(t, 30*time.Second, func() error {
		if !asha.Exited() {
			return fmt.Errorf("the daemon is still running after Quit")
		}
		return nil
	})
	eventually(t, 10*time.Second, func() error {
		if r, _ := findRoom(roomsJSON(t, bilal), inv.Room); r.Members != 1 {
			return fmt.Errorf("Bilal sees %d members after Asha quit, want 1", r.Members)
		}
		return nil
	})
	if !strings.Contains(asha.Log(), "SunOye stopped") {
		t.Errorf("the daemon did not stop cleanly:\n%s", tail(asha.Log(), 15))
	}
}
