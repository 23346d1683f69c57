//go:build linux && cgo && !nowebview

package window

/*
#include <stdlib.h>
#include "window_gtk.h"
*/
import "C"

import (
	"encoding/json"
	"errors"
	"net/url"
	"runtime"
	"sync"
	"unsafe"
)

// The GTK side of Serve, in cgo rather than through webview_go, which
// does not fit a process that hosts many windows: its dispatch needs a
// live webview (there is none between windows), it quits the main loop
// when its last window closes (the host outlives its windows), and it
// makes each view with webkit_web_view_new, so that every window would
// get a WebKit web process of its own. Here every window is a popup of
// one hidden view, and shares its web process (see window_gtk.c).

// Native is true in builds with the webview.
const Native = true

func init() {
	// GTK must run on the main thread: keep the main goroutine on it, so
	// that the window process can run Serve from main.
	runtime.LockOSThread()
}

// handles holds, by number, what C refers to (C may not keep Go
// pointers): what uiDo hands to the GTK thread, the windows (for their
// destroy signal), the opens waiting for their window.
var (
	mu      sync.Mutex
	next    uintptr
	handles = map[uintptr]any{}
)

func keep(v any) uintptr {
	mu.Lock()
	defer mu.Unlock()
	next++
	handles[next] = v
	return next
}

func peek(id uintptr) any {
	mu.Lock()
	defer mu.Unlock()
	return handles[id]
}

func take(id uintptr) any {
	mu.Lock()
	defer mu.Unlock()
	v := handles[id]
	delete(handles, id)
	return v
}

//export sunoyeDo
func sunoyeDo(id C.uintptr_t) {
	if f, ok := take(uintptr(id)).(func()); ok {
		f()
	}
}

//export sunoyeShown
func sunoyeShown(id C.uintptr_t) {
	if w, ok := peek(uintptr(id)).(*gtkWindow); ok && w.shown != nil {
		w.shown()
		w.shown = nil
	}
}

//export sunoyeClosed
func sunoyeClosed(id C.uintptr_t) {
	w, ok := take(uintptr(id)).(*gtkWindow)
	switch {
	case !ok:
	case w.shown != nil:
		// Gone before it showed (its web process ended): the open failed.
		w.shown = nil
		w.failed(errors.New("the window closed before it showed"))
	default:
		w.closed()
	}
}

func uiInit() error {
	if C.sunoye_init() == 0 {
		return errors.New("GTK could not be initialised (no usable display?)")
	}
	return nil
}

func uiRun()  { C.gtk_main() }
func uiQuit() { C.gtk_main_quit() }

// uiDo runs f on the GTK thread; it may be called from any goroutine.
func uiDo(f func()) { C.sunoye_dispatch(C.uintptr_t(keep(f))) }

type uiWindow = *gtkWindow

type gtkWindow struct {
	w      *C.GtkWidget
	shown  func() // once, when it first shows
	failed func(error)
	closed func()
}

func (w *gtkWindow) present() { C.sunoye_window_present(w.w) }

// pending is an open on its way: waiting for the anchor's page, then for
// its popup.
type pending struct {
	title, url string
	opened     func(uiWindow, error)
	closed     func()
	done       bool
}

// The anchor's state; all on the GTK thread.
var (
	anchorOrigin string
	anchorPage   string // the page it shows or loads, "" for none
	anchorReady  bool
	waiting      []*pending // for the anchor's page
	inflight     []*pending // popups asked for, not yet made
)

// anchorPath is the page of the chat UI's origin that the anchor loads:
// any page does, and one that does not exist runs no script (the UI
// answers it with its security headers all the same).
const anchorPath = "/.sunoye-window"

// uiWarm loads the anchor's page for origin: the web process is then
// ready before the first window.
func uiWarm(origin string) {
	co := C.CString(origin)
	C.sunoye_set_origin(co)
	C.free(unsafe.Pointer(co))
	page := origin + anchorPath
	if page == anchorPage {
		return
	}
	anchorOrigin, anchorPage, anchorReady = origin, page, false
	c := C.CString(page)
	defer C.free(unsafe.Pointer(c))
	C.sunoye_anchor_load(c)
}

// uiOpen makes a window for url, titled title, and calls opened with it
// (or an error) once made; closed is called when it goes.
func uiOpen(title, rawURL string, opened func(uiWindow, error), closed func()) {
	u, err := url.Parse(rawURL)
	if err != nil {
		opened(nil, err)
		return
	}
	uiWarm(u.Scheme + "://" + u.Host)
	p := &pending{title: title, url: rawURL, opened: opened, closed: closed}
	if !anchorReady {
		waiting = append(waiting, p)
		return
	}
	popup(p)
}

// popup has the anchor's page open p's window.
func popup(p *pending) {
	inflight = append(inflight, p)
	target, _ := json.Marshal(p.url)
	script := C.CString("window.open(" + string(target) + ", '_blank') !== null")
	defer C.free(unsafe.Pointer(script))
	C.sunoye_popup(script, C.uintptr_t(keep(p)))
}

// uiRecycle starts the web process afresh, with the anchor's page alone:
// the last window closed, and the pages it showed left their memory
// behind (some 150 MB).
func uiRecycle() {
	if anchorPage == "" || len(waiting) > 0 || len(inflight) > 0 {
		return
	}
	origin := anchorOrigin
	C.sunoye_anchor_terminate()
	anchorPage, anchorReady = "", false
	uiWarm(origin)
}

// maxAnchorRetries bounds the anchor's loads again for the opens waiting
// on it.
const maxAnchorRetries = 2

// anchorRetries counts them (on the GTK thread, as the rest).
var anchorRetries int

//export sunoyeAnchorLoaded
func sunoyeAnchorLoaded(ok C.int) {
	if ok == 0 && len(waiting) > 0 && anchorRetries < maxAnchorRetries && anchorPage != "" {
		// A load cut short (by a newer one, or the web process starting
		// afresh on a busy machine): once more before the opens fail.
		anchorRetries++
		c := C.CString(anchorPage)
		defer C.free(unsafe.Pointer(c))
		C.sunoye_anchor_load(c)
		return
	}
	anchorRetries = 0
	ws := waiting
	waiting = nil
	if ok == 0 {
		anchorPage = "" // try again at the next open
		for _, p := range ws {
			p.opened(nil, errors.New("the chat UI did not answer"))
		}
		return
	}
	anchorReady = true
	for _, p := range ws {
		popup(p)
	}
}

//export sunoyeAnchorLost
func sunoyeAnchorLost() {
	// Its web process ended (and the windows' with it): start afresh at
	// the next open.
	anchorPage, anchorReady = "", false
}

//export sunoyeCreate
func sunoyeCreate(anchor *C.WebKitWebView) *C.GtkWidget {
	if len(inflight) == 0 {
		return nil // not a popup of ours
	}
	p := inflight[0]
	inflight = inflight[1:]
	p.done = true
	view := C.sunoye_view_new(anchor)
	w := &gtkWindow{closed: p.closed}
	w.shown = func() { p.opened(w, nil) }
	w.failed = func(err error) { p.opened(nil, err) }
	t := C.CString(p.title)
	defer C.free(unsafe.Pointer(t))
	w.w = C.sunoye_window_new(view, t, Width, Height, C.uintptr_t(keep(w)))
	return (*C.GtkWidget)(unsafe.Pointer(view))
}

//export sunoyeScriptDone
func sunoyeScriptDone(id C.uintptr_t, ok C.int) {
	p, _ := take(uintptr(id)).(*pending)
	if p == nil || p.done {
		return
	}
	// The page did not open it.
	for i, q := range inflight {
		if q == p {
			inflight = append(inflight[:i], inflight[i+1:]...)
			break
		}
	}
	p.opened(nil, errors.New("the window could not be opened"))
}
