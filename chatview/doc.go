// Package chatview opens SunOye's chat windows: the chat UI (served by
// package web on loopback) in a small native window per room, or in the
// default browser where there is none.
//
// Each window is a child process of the daemon (cmd/sunoye-window, which
// runs package chatview/window). Measured on the development machine, a
// webview costs some 400 MB across the web engine's processes; in a child
// process a closed window gives all of it back, a crash of the web engine
// cannot take the daemon and its subscriptions down, and the daemon never
// links WebKit at all (it idles at under 20 MB rather than 65 MB). The
// Manager keeps one window per key and brings an open one to the front
// instead of opening a second.
package chatview
