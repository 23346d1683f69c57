// Package window is the chat window itself: the process that the daemon
// starts per window (cmd/sunoye-window) runs Run, which shows the chat UI
// in a webview (github.com/webview/webview_go: WebKitGTK on Linux,
// WebView2 on Windows) in builds with cgo, and opens the default browser
// otherwise (or with the nowebview build tag, or on Windows without a
// WebView2 runtime).
//
// It is a package and a binary of its own so that the daemon does not
// link WebKit: the dynamic loader would map GTK and WebKit (some 800
// shared objects) into every daemon, which then idles at 65 MB instead of
// under 20 MB, window or no window.
package window
