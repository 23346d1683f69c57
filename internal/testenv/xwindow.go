package testenv

import (
	"io"
	"log"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// Windows returns the ids of the visible (mapped) X windows on display
// whose title matches the regular expression name (xdotool search).
func Windows(t testing.TB, display, name string) []uint32 {
	t.Helper()
	xdotool := NeedBinary(t, "xdotool", "xdotool")
	var out []byte
	for range 3 {
		cmd := exec.Command(xdotool, "search", "--onlyvisible", "--name", name)
		cmd.Env = append(os.Environ(), "DISPLAY="+display)
		var err error
		out, err = cmd.Output()
		// Exit status 1: none found. Anything else (an X error: a window
		// went away during the search, on a busy server) asks again.
		if ee, ok := err.(*exec.ExitError); err == nil || ok && ee.ExitCode() == 1 {
			break
		}
	}
	var ids []uint32
	for _, f := range strings.Fields(string(out)) {
		if id, err := strconv.ParseUint(f, 10, 32); err == nil {
			ids = append(ids, uint32(id))
		}
	}
	return ids
}

// WindowTitle returns the title (WM_NAME) of X window id on display.
func WindowTitle(t testing.TB, display string, id uint32) string {
	t.Helper()
	cmd := exec.Command(NeedBinary(t, "xdotool", "xdotool"), "getwindowname", strconv.FormatUint(uint64(id), 10))
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("testenv: title of window %d: %v", id, err)
	}
	return strings.TrimSpace(string(out))
}

// CloseWindow asks X window id on display to close, as a window manager's
// close button does: with a WM_DELETE_WINDOW message. A window that is
// gone already is closed. (Xvfb has no window
// manager, and xdotool's windowkill ends the window's whole X client,
// every window of the process.)
func CloseWindow(t testing.TB, display string, id uint32) {
	t.Helper()
	xgb.Logger = log.New(io.Discard, "", 0) // it talks of a missing .Xauthority
	c, err := xgb.NewConnDisplay(display)
	if err != nil {
		t.Fatalf("testenv: connect to X display %s: %v", display, err)
	}
	defer c.Close()
	atom := func(name string) xproto.Atom {
		r, err := xproto.InternAtom(c, false, uint16(len(name)), name).Reply()
		if err != nil {
			t.Fatalf("testenv: X atom %s: %v", name, err)
		}
		return r.Atom
	}
	protocols, del := atom("WM_PROTOCOLS"), atom("WM_DELETE_WINDOW")
	ev := xproto.ClientMessageEvent{
		Format: 32, Window: xproto.Window(id), Type: protocols,
		Data: xproto.ClientMessageDataUnionData32New([]uint32{uint32(del), xproto.TimeCurrentTime, 0, 0, 0}),
	}
	err = xproto.SendEventChecked(c, false, xproto.Window(id), xproto.EventMaskNoEvent, string(ev.Bytes())).Check()
	if _, gone := err.(xproto.WindowError); err != nil && !gone { // gone: closed already
		t.Fatalf("testenv: close window %d: %v", id, err)
	}
}
