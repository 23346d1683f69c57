// Package chatview opens SunOye's chat windows: the chat UI (served by
// package web on loopback) in small native windows, one per room, or in
// the default browser where there are none.
//
// Every window lives in one child process of the daemon, the window
// process (cmd/sunoye-window, which runs package chatview/window). The
// Manager starts it at the first Open (or at Prewarm: the daemon calls it
// when a notification shows, so that its click finds the process ready),
// keeps one window per key, brings an open one to the front instead of
// opening a second, and ends the process Linger (3 minutes) after its last
// window closed: an idle daemon gives the web engine's memory back
// (measured, docs/performance.md: 22 MB idle, 222 MB with the window
// process lingering). In its own process, a crash of the web engine
// cannot take the daemon and its subscriptions down, and the daemon never
// links WebKit at all (it idles at some 20 MB rather than 65 MB).
//
// One process for every window makes the second and later windows nearly
// free and quick: on Linux they share its GTK, its WebKit network process
// and, as popups of one hidden page of the UI's origin, one WebKit web
// process (see chatview/window), so a second window shows its room in
// about 100 ms where a process of its own took 670 ms, and three rooms'
// windows cost 1.27× one's memory instead of 1.9×.
//
// The daemon and the window process talk over the latter's standard input
// and output (ipc.go): pipes between the two, reachable by no other local
// program, so there is nothing to authenticate and no token on a command
// line. Every exchange is bounded: a window process that does not take a
// command, or answer it, within ReplyTimeout is killed, and the next Open
// starts a new one; so does one that died.
package chatview
