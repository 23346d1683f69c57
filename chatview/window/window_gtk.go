//go:build linux && cgo && !nowebview

package window

/*
#cgo linux pkg-config: gtk+-3.0 webkit2gtk-4.0
#include <stdlib.h>
#include "window_gtk.h"
*/
import "C"

import (
	"errors"
	"runtime"
	"sync"
	"unsafe"
)

// The GTK side of Serve, in cgo rather than through webview_go, which
// does not fit a process that hosts many windows: its dispatch needs a
// live webview (there is none between windows), it quits the main loop
// when its last window closes (the host outlives its windows), and it
// makes each view with webkit_web_view_new, so that every window would
// get a WebKit web process of its own. Here every view is related to one
// hidden view and shares its web process (see window_gtk.c).

// Native is true in builds with the webview.
const Native = true

func init() {
	// GTK must run on the main thread: keep the main goroutine on it, so
	// that the window process can run Serve from main.
	runtime.LockOSThread()
}

// funcs holds what uiDo hands to the GTK thread, and windows the windows
// (for their destroy signal), by number: C may not keep Go pointers.
var (
	mu      sync.Mutex
	next    uintptr
	funcs   = map[uintptr]func(){}
	windows = map[uintptr]*gtkWindow{}
)

func keep[T any](m map[uintptr]T, v T) uintptr {
	mu.Lock()
	defer mu.Unlock()
	next++
	m[next] = v
	return next
}

func take[T any](m map[uintptr]T, id uintptr) (T, bool) {
	mu.Lock()
	defer mu.Unlock()
	v, ok := m[id]
	delete(m, id)
	return v, ok
}

//export sunoyeDo
func sunoyeDo(id C.uintptr_t) {
	if f, ok := take(funcs, uintptr(id)); ok {
		f()
	}
}

//export sunoyeClosed
func sunoyeClosed(id C.uintptr_t) {
	if w, ok := take(windows, uintptr(id)); ok {
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
func uiDo(f func()) { C.sunoye_dispatch(C.uintptr_t(keep(funcs, f))) }

type uiWindow = *gtkWindow

type gtkWindow struct {
	w      *C.GtkWidget
	closed func()
}

func uiOpen(title, url string, closed func()) (uiWindow, error) {
	ct, cu := C.CString(title), C.CString(url)
	defer C.free(unsafe.Pointer(ct))
	defer C.free(unsafe.Pointer(cu))
	w := &gtkWindow{closed: closed}
	id := keep(windows, w)
	w.w = C.sunoye_window_new(ct, cu, Width, Height, C.uintptr_t(id))
	return w, nil
}

func (w *gtkWindow) present() { C.sunoye_window_present(w.w) }
