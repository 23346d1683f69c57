//go:build (linux || windows) && cgo && !nowebview

package window

import (
	"bufio"
	"errors"
	"io"
	"runtime"

	webview "github.com/webview/webview_go"

	"github.com/sunoye/sunoye/chatview"
)

// Native is true in builds with the webview.
const Native = true

func init() {
	// GTK, and Win32 windows, belong to the thread that made them: keep
	// the main goroutine on the main thread, so that the window process
	// can run the webview from main.
	runtime.LockOSThread()
}

// Window sizes: small, for a quick reply beside other work.
const (
	Width  = 440
	Height = 640
)

// Run shows url in a native window titled title until the user closes it
// or in reaches its end (the daemon went away). It reads commands
// (chatview.CmdPresent) from in, one a line. It must be called from the
// main goroutine.
func Run(url, title string, in io.Reader) error {
	if !chatview.HasDisplay() {
		// webview.New would return nil and crash at the first call.
		return chatview.ErrNoDisplay
	}
	if err := engineMissing(); err != nil {
		// webview.New would never return (WebView2 on Windows): the
		// browser is the window.
		return fallback(url, err)
	}
	w := webview.New(false)
	if w == nil {
		return errors.New("the webview could not be created (is " + engine + " installed?)")
	}
	defer w.Destroy()
	w.SetTitle(title)
	w.SetSize(Width, Height, webview.HintNone)
	if err := guardNavigation(w.Window(), url); err != nil {
		return err
	}
	w.Navigate(url)
	go func() {
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			if sc.Text() == chatview.CmdPresent {
				w.Dispatch(func() { present(w.Window()) })
			}
		}
		// The daemon closed the pipe or died: the window has nothing
		// left to talk to.
		w.Dispatch(w.Terminate)
	}()
	w.Run()
	return nil
}
