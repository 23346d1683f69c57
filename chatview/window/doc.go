// Package window is the chat windows' process: the daemon starts one
// window process (cmd/sunoye-window), which runs Serve and hosts every
// open chat window, each a webview (WebKitGTK, on Linux builds with cgo)
// showing the chat UI; without a webview (other systems, no cgo, or the
// nowebview build tag) it opens the default browser instead.
//
// It is a package and a binary of its own so that the daemon does not
// link WebKit: the dynamic loader would map GTK and WebKit (some 800
// shared objects) into every daemon, which then idles at 65 MB instead of
// under 20 MB, window or no window.
package window
