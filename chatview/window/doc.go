// Package window is the chat windows' process: the daemon starts one
// window process (cmd/sunoye-window), which runs Serve and hosts every
// open chat window, each a webview showing the chat UI; without a webview
// (other systems, no cgo, or the nowebview build tag) it opens the default
// browser instead.
//
// On Linux (window_gtk.go, window_gtk.c) the windows are WebKitGTK views
// driven through cgo. Every window is a popup opened by one hidden view
// that shows a page of the chat UI's origin, so that all share one web
// process, which stays warm between windows; when the last window closes
// it starts afresh with the hidden page alone.
//
// host.go is the part every platform shares (the protocol, one window per
// key); a platform provides the ui* functions: uiInit, uiRun, uiQuit,
// uiDo (run on the UI thread), uiWarm and uiRecycle (ready, and refresh,
// the web engine for the UI's origin; may do nothing), uiOpen (make a
// window, report it shown or failed, and later closed) and the window's
// present.
//
// It is a package and a binary of its own so that the daemon does not
// link WebKit: the dynamic loader would map GTK and WebKit (some 800
// shared objects) into every daemon, which then idles at 65 MB instead of
// under 20 MB, window or no window.
package window
