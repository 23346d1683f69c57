//go:build !linux || !cgo || nowebview

package chatview

import "io"

// Native is false: windows are browser tabs.
const Native = false

// RunWindow opens url in the default browser and returns: without a
// webview, the browser is the window.
func RunWindow(url, _ string, _ io.Reader) error { return openBrowser(url) }
