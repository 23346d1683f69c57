package main

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
)

// The chat windows as a user meets them from the command line: a daemon
// on an X display starts no window process until a window opens; three
// rooms' windows are three windows, each titled with its room, of one
// window process; opening one again brings it to the front; closing them
// all ends the process a linger later (shortened here); a window process
// killed by a crash is replaced at the next open.
func TestWindowsShareOneProcess(t *testing.T) {
	display := testenv.Xvfb(t)
	bus := testenv.SessionBus(t)
	const linger = 3 * time.Second
	b := embeddedBackend(t)
	d := testenv.StartDaemon(t, testenv.DaemonConfig{
		Broker: b.first, DB: b.db, Name: "Asha",
		Args: []string{}, // not headless
		Env: []string{"DISPLAY=" + display, "DBUS_SESSION_BUS_ADDRESS=" + bus, "NO_AT_BRIDGE=1",
			lingerEnv + "=" + linger.String()},
	})
	windowProcs := func() []int {
		var pids []int
		for _, pid := range processTree(d.PID())[1:] {
			if testenv.ProcessName(pid) == "sunoye-window" {
				pids = append(pids, pid)
			}
		}
		return pids
	}
	var rooms []string
	for range 3 {
		rooms = append(rooms, create(t, d).Room)
	}
	if p := windowProcs(); len(p) != 0 {
		t.Fatalf("window processes before any window: %v", p)
	}

	windowOf := func(room string) []uint32 { return testenv.Windows(t, display, "^Room "+room) }
	openAll := func() int {
		t.Helper()
		for _, r := range rooms {
			must(t, d, "open", r)
		}
		for _, r := range rooms {
			var ids []uint32
			eventually(t, 30*time.Second, func() error {
				if ids = windowOf(r); len(ids) != 1 {
					return fmt.Errorf("%d windows for room %s", len(ids), r)
				}
				return nil
			})
			if title := testenv.WindowTitle(t, display, ids[0]); title != "Room "+r+" — SunOye" {
				t.Errorf("room %s's window is titled %q", r, title)
			}
		}
		p := windowProcs()
		if len(p) != 1 {
			t.Fatalf("window processes for three windows: %v, want one", p)
		}
		return p[0]
	}
	host := openAll()
	// Again: the same windows, in front.
	must(t, d, "open", rooms[1])
	for _, r := range rooms {
		if ids := windowOf(r); len(ids) != 1 {
			t.Errorf("%d windows for room %s after opening it again", len(ids), r)
		}
	}

	// Closing every window leaves the rooms, and ends the window process
	// after the linger, not before.
	// (Asked again while one is still there: a search of a busy X
	// server may miss a window for a moment.)
	eventually(t, 20*time.Second, func() error {
		for _, r := range rooms {
			if ids := windowOf(r); len(ids) != 0 {
				testenv.CloseWindow(t, display, ids[0])
				return fmt.Errorf("room %s's window is still there", r)
			}
		}
		return nil
	})
	closed := time.Now()
	for _, r := range rooms {
		if _, ok := findRoom(roomsJSON(t, d), r); !ok {
			t.Errorf("closing its window left room %s", r)
		}
	}
	if p := windowProcs(); len(p) != 1 || p[0] != host {
		t.Errorf("window processes right after the last window closed: %v, want %d lingering", p, host)
	}
	eventually(t, 30*time.Second, func() error {
		if p := windowProcs(); len(p) != 0 {
			return fmt.Errorf("window processes %v still there %v after the last window closed", p, time.Since(closed))
		}
		return nil
	})
	if gone := time.Since(closed); gone < linger/2 {
		t.Errorf("the window process ended %v after the last window closed; its linger is %v", gone, linger)
	}

	// A new one at the next open; killed, another at the one after.
	host = openAll()
	syscall.Kill(host, syscall.SIGKILL)
	eventually(t, 20*time.Second, func() error {
		if len(windowOf(rooms[0])) != 0 {
			return fmt.Errorf("the killed process's windows are still on the screen")
		}
		return nil
	})
	if again := openAll(); again == host {
		t.Errorf("the killed window process %d is still the one", host)
	}
}
