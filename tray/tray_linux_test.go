package tray_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
	"github.com/sunoye/sunoye/tray"
)

// flowEnv marks the child process that runs the tray flow.
const flowEnv = "SUNOYE_TRAY_FLOW"

// TestTray drives the real tray over D-Bus the way a panel does, against a
// real rooms.Service, from start to Quit. fyne's systray keeps its state
// in globals and runs once per process, so the flow runs in a child
// process of its own (this test binary again), which also lets -count
// repeat it.
func TestTray(t *testing.T) {
	if os.Getenv(flowEnv) != "" {
		trayFlow(t)
		return
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestTray$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), flowEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the tray flow failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestTray") {
		t.Fatalf("the tray flow did not run:\n%s", out)
	}
	t.Logf("the tray flow:\n%s", out)
}

// trayFlow is TestTray in its own process.
func trayFlow(t *testing.T) {
	bus := testenv.SessionBus(t)
	display := testenv.Xvfb(t)
	testenv.NeedBinary(t, "xclip", "xclip")
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus)
	t.Setenv("DISPLAY", display) // the real clipboard, atotto's, runs xclip

	br := startBroker(t, "127.0.0.1:0")
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "registry.db")
	asha := newService(t, "Asha", br.url(), dsn)
	bilal := newService(t, "Bilal", br.url(), dsn)
	log, logs := newLogger(t)
	windows := &opener{calls: make(chan string, 8)}
	quit := make(chan struct{})
	var quitOnce sync.Once

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- tray.Run(ctx, tray.Options{
			Service: asha,
			Windows: windows,
			Quit:    func() { quitOnce.Do(func() { close(quit) }) },
			Logger:  log,
		})
	}()

	// No tray host yet: the tray says so once, and registers when one
	// appears.
	eventually(t, "the no-tray-host line", func() (bool, string) {
		return logs.Count("no tray host (StatusNotifierWatcher)") == 1, logs.String()
	})
	watcher := testenv.StatusNotifierWatcher(t, bus)
	var itemID string
	select {
	case itemID = <-watcher.Registered:
	case <-time.After(wait):
		t.Fatal("the tray did not register with the watcher that appeared")
	}
	item := testenv.NewTrayItem(t, bus, itemID)
	menu := item.Menu(t)
	// For a new host the tray makes its menu anew, once the host has
	// settled, and entries get new ids: wait for that before reading ids
	// (a panel reads them when it is shown the menu).
	const renewed = "tray menu made anew for a new tray host"
	eventually(t, "the menu made anew for the watcher", func() (bool, string) {
		return logs.Count(renewed) == 1, logs.String()
	})

	var room rooms.ID
	var password string
	normalIcon := item.IconPixmap(t)
	var unreadIcon []testenv.Pixmap

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"fixed entries", func(t *testing.T) {
			want := "Create room…|Join room…|---|No rooms yet|---|Do not disturb|Settings…|Quit"
			menu.WaitFor(t, "the fixed entries", func(root *testenv.MenuNode) bool {
				return strings.Join(root.Labels(), "|") == want
			})
			if got := item.ToolTip(t); got != "SunOye" {
				t.Errorf("tooltip %q, want SunOye", got)
			}
			if len(normalIcon) != 1 || normalIcon[0].W != 64 || len(normalIcon[0].ARGB) != 64*64*4 {
				t.Errorf("icon: want one 64×64 pixmap, got %d", len(normalIcon))
			}
		}},
		{"create room", func(t *testing.T) {
			menu.Click(t, menu.Find(t, "Create room…").ID)
			if got := windows.next(t); got != "create" {
				t.Fatalf("Create room… opened %q", got)
			}
			inv, err := asha.Create(t.Context(), "") // what the form does
			if err != nil {
				t.Fatal(err)
			}
			room, password = inv.Room, inv.Password
			menu.Find(t, string(room)+" — 1 member")
			if n := menu.Layout(t).Find("No rooms yet"); n != nil {
				t.Error("No rooms yet still shows with a room joined")
			}
		}},
		{"a member joins", func(t *testing.T) {
			if err := bilal.Join(t.Context(), room, password); err != nil {
				t.Fatal(err)
			}
			menu.Find(t, string(room)+" — 2 members")
		}},
		{"a message arrives", func(t *testing.T) {
			if _, err := bilal.Send(t.Context(), room, "namaste"); err != nil {
				t.Fatal(err)
			}
			menu.Find(t, string(room)+" — 2 members, 1 unread")
			want := "SunOye — 1 unread in " + string(room)
			eventually(t, "the unread tooltip", func() (bool, string) {
				got := item.ToolTip(t)
				return got == want, got
			})
			unreadIcon = item.IconPixmap(t)
			if samePixmaps(unreadIcon, normalIcon) {
				t.Error("the icon did not change for an unread message")
			}
			if dir := os.Getenv("SUNOYE_SCREENSHOT_DIR"); dir != "" {
				text := menu.Layout(t).Text()
				if err := os.WriteFile(filepath.Join(dir, "tray-menu.txt"), []byte(text), 0o644); err != nil {
					t.Error(err)
				}
			}
		}},
		{"real tray host", func(t *testing.T) {
			// The stand-in goes; a real host (a GTK tray bar along the top
			// of the screen) takes its name, and the icon registers with it.
			xdotool := testenv.NeedBinary(t, "xdotool", "xdotool")
			watcher.Close()
			testenv.TrayHost(t, bus, display)
			name := fmt.Sprintf("org.kde.StatusNotifierItem-%d-1", os.Getpid())
			owner := strings.Split(itemID, "/")[0]
			eventually(t, "the icon registered with the real host", func() (bool, string) {
				items := testenv.RegisteredTrayItems(t, bus)
				for _, it := range items {
					if strings.HasPrefix(it, name) || strings.HasPrefix(it, owner) {
						return true, ""
					}
				}
				return false, fmt.Sprint(items)
			})
			// Nothing here reads the menu before the host has: libdbusmenu-gtk
			// needs the first look after the renewal (see menu.renew).
			eventually(t, "the menu made anew for the real host", func() (bool, string) {
				return logs.Count(renewed) >= 2, logs.String()
			})
			// The bar draws the icon, red badge and all, at its left end.
			iconArea := image.Rect(0, 0, 32, 32)
			waitScreen(t, display, "tray-icon", "the icon with its unread badge in the bar", func(img image.Image) bool {
				return countNear(img, iconArea, color.RGBA{242, 120, 40, 255}, 60) > 50 &&
					countNear(img, iconArea, color.RGBA{220, 38, 38, 255}, 40) > 10
			})
			// A click on it opens the menu below the bar, and pointing at
			// the room opens its submenu, as a person sees them.
			shot := openSubmenu(t, xdotool, display)
			saveCrop(t, shot, image.Rect(0, 0, 460, 200), "tray-menu")
			if out, err := exec.Command(xdotool, "key", "Escape").CombinedOutput(); err != nil {
				t.Fatalf("xdotool: %v: %s", err, out)
			}
			waitScreen(t, display, "tray-icon", "the menu closed", func(img image.Image) bool {
				return testenv.Colors(img, menuArea) == 1 && testenv.Colors(img, submenuArea) == 1
			})
		}},
		{"open chat", func(t *testing.T) {
			menu.Click(t, menu.Find(t, string(room), "Open chat").ID)
			if got, want := windows.next(t), "room "+string(room); got != want {
				t.Errorf("Open chat opened %q, want %q", got, want)
			}
		}},
		{"copy invite", func(t *testing.T) {
			menu.Click(t, menu.Find(t, string(room), "Copy invite").ID)
			eventually(t, "the invite on the clipboard", func() (bool, string) {
				got := readClipboard(display)
				return strings.Contains(got, string(room)) && strings.Contains(got, password), got
			})
			if strings.Contains(logs.String(), password) {
				t.Error("the password is in the log")
			}
		}},
		{"notification levels", func(t *testing.T) {
			// Radio-like: the level clicked is ticked, the others not.
			ticked := func(want string) func(root *testenv.MenuNode) bool {
				return func(root *testenv.MenuNode) bool {
					for _, label := range []string{"Notify: all messages", "Notify: mentions only", "Notify: none (muted)"} {
						n := root.Find(string(room), label)
						if n == nil || n.Checked != (label == want) {
							return false
						}
					}
					return true
				}
			}
			menu.Click(t, menu.Find(t, string(room), "Notify: mentions only").ID)
			menu.WaitFor(t, "mentions only ticked", ticked("Notify: mentions only"))
			if info, err := asha.Room(room); err != nil || info.Notify != rooms.NotifyMentions {
				t.Errorf("the Service says notify=%q (%v)", info.Notify, err)
			}
			menu.Click(t, menu.Find(t, string(room), "Notify: none (muted)").ID)
			menu.WaitFor(t, "none ticked", ticked("Notify: none (muted)"))
			if info, err := asha.Room(room); err != nil || !info.Muted {
				t.Errorf("the Service says muted=%v (%v)", info.Muted, err)
			}
			menu.Find(t, string(room)+" — 2 members, 1 unread, muted")
			// A muted room's messages do not call for attention.
			eventually(t, "the plain tooltip", func() (bool, string) {
				got := item.ToolTip(t)
				return got == "SunOye", got
			})
			if !samePixmaps(item.IconPixmap(t), normalIcon) {
				t.Error("the icon still shows unread messages of a muted room")
			}
		}},
		{"do not disturb", func(t *testing.T) {
			for _, on := range []bool{true, false} {
				menu.Click(t, menu.Find(t, "Do not disturb").ID)
				menu.WaitFor(t, fmt.Sprintf("Do not disturb ticked=%v", on), func(root *testenv.MenuNode) bool {
					n := root.Find("Do not disturb")
					return n != nil && n.Checked == on
				})
				if got := asha.DoNotDisturb(); got != on {
					t.Errorf("Service DoNotDisturb = %v, want %v", got, on)
				}
			}
		}},
		{"broker drops and returns", func(t *testing.T) {
			br.stop()
			eventually(t, "the disconnected tooltip", func() (bool, string) {
				got := item.ToolTip(t)
				return got == "SunOye — disconnected from the broker", got
			})
			grey := item.IconPixmap(t)
			if samePixmaps(grey, normalIcon) || samePixmaps(grey, unreadIcon) {
				t.Error("the icon does not show the lost connection")
			}
			br.restart()
			eventually(t, "the connection back", func() (bool, string) {
				got := item.ToolTip(t)
				return got == "SunOye", got
			})
			if !samePixmaps(item.IconPixmap(t), normalIcon) {
				t.Error("the icon still shows a lost connection")
			}
		}},
		{"leave", func(t *testing.T) {
			menu.Click(t, menu.Find(t, string(room), "Leave").ID)
			menu.WaitFor(t, "the room gone and No rooms yet", func(root *testenv.MenuNode) bool {
				return root.Find(string(room)) == nil && root.Find("No rooms yet") != nil
			})
			if rs := asha.Rooms(); len(rs) != 0 {
				t.Errorf("the Service is still in %d rooms", len(rs))
			}
		}},
		{"leaving the last seat asks first", func(t *testing.T) {
			inv, err := asha.Create(t.Context(), "")
			if err != nil {
				t.Fatal(err)
			}
			alone := string(inv.Room)
			menu.Find(t, alone+" — 1 member")
			menu.Click(t, menu.Find(t, alone, "Leave").ID)
			if got, want := windows.next(t), "leave "+alone; got != want {
				t.Fatalf("Leave on the last seat opened %q, want %q", got, want)
			}
			if _, err := asha.Room(inv.Room); err != nil {
				t.Fatalf("Leave on the last seat left without asking: %v", err)
			}
			// The window leaves once the user confirms.
			if err := asha.Leave(t.Context(), inv.Room); err != nil {
				t.Fatal(err)
			}
			menu.WaitFor(t, "the room gone and No rooms yet", func(root *testenv.MenuNode) bool {
				return root.Find(alone) == nil && root.Find("No rooms yet") != nil
			})
		}},
		{"quit", func(t *testing.T) {
			menu.Click(t, menu.Find(t, "Quit").ID)
			select {
			case <-quit:
			case <-time.After(wait):
				t.Fatal("Quit was not called")
			}
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(wait):
				t.Fatal("Run did not return after Quit")
			}
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			t.Logf("menu when %q failed:\n%s", s.name, menu.Layout(t).Text())
			return
		}
	}
	if n := logs.Count("no tray host"); n != 1 {
		t.Errorf("the no-tray-host line was logged %d times, want once", n)
	}
}
