//go:build !(windows && cgo && !nowebview)

package window

import (
	"errors"
	"io"
)

// OneEnv is set in a child of the window process that shows one window:
// only on Windows (see window_webview.go).
const OneEnv = "SUNOYE_WINDOW_ONE"

// ServeOne is for Windows' one-window children; elsewhere every window
// is in Serve's process.
func ServeOne(io.Reader) error {
	return errors.New("one window a process is for Windows' WebView2 only")
}
