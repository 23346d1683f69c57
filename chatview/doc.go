// Package chatview shows SunOye's chat UI (served by package web on
// loopback) in a small native window: a webview (WebKitGTK through
// github.com/webview/webview_go) on Linux builds with cgo, the default
// browser elsewhere and in builds with the nowebview tag.
//
// Each window is a child process of the daemon (`sunoye window`), one per
// room. Measured on the development machine, a webview costs some 400 MB
// across the web engine's processes, and GTK and WebKit would stay mapped
// in the daemon long after the last window closed; in a child process the
// daemon stays small (it never links GTK at run time), a closed window
// gives all its memory back, and a crash of the web engine cannot take the
// daemon and its subscriptions down. The Manager keeps one window per key
// and brings an open one to the front instead of opening a second.
package chatview
