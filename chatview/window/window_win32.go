//go:build windows && cgo && !nowebview

package window

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/sunoye/sunoye/chatview"
	"github.com/sunoye/sunoye/chatview/webview2"
)

// engine is what the webview needs, for errors.
const engine = "the WebView2 runtime"

var (
	user32                  = windows.NewLazySystemDLL("user32.dll")
	procSetForegroundWindow = user32.NewProc("SetForegroundWindow")
	procShowWindow          = user32.NewProc("ShowWindow")
)

// swRestore un-minimises a window (SW_RESTORE).
const swRestore = 9

// present brings the window to the front.
func present(w unsafe.Pointer) {
	procShowWindow.Call(uintptr(w), swRestore)
	procSetForegroundWindow.Call(uintptr(w))
}

// engineMissing says why there is no WebView2 runtime, if there is none:
// webview.New would then wait forever for a browser process.
func engineMissing() error {
	_, err := webview2.Version()
	return err
}

// fallback opens url in the default browser, saying why on stderr (the
// daemon logs it).
func fallback(url string, why error) error {
	fmt.Fprintf(os.Stderr, "sunoye-window: %v; opening the default browser instead\n", why)
	return chatview.OpenBrowser(url)
}
