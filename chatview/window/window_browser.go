//go:build !(linux || windows) || !cgo || nowebview

package window

import (
	"io"

	"github.com/sunoye/sunoye/chatview"
)

// Native is false: windows are browser tabs.
const Native = false

// Run opens url in the default browser and returns: without a webview,
// the browser is the window.
func Run(url, _ string, _ io.Reader) error { return chatview.OpenBrowser(url) }
