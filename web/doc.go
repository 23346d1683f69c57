// Package web serves the SunOye daemon's local API: a JSON-over-HTTP API
// on a unix socket that only the user running the daemon can reach (mode
// 0600, and the peer's uid checked on Linux); on Windows, a named pipe
// whose security descriptor admits that user alone (internal/userpipe;
// see Server.ServeLocal). The sunoye CLI is its
// client (Client). UI serves the chat window's UI (assets/) on loopback,
// behind one-time launch links and a session token that the page holds
// (never a cookie, which other local ports would get); every daemon
// serves it, headless ones for `sunoye open --url`.
//
// Contract types (RoomJSON, MessageJSON, …) live in api.go: scripts rely on
// their field names.
package web
