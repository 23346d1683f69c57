// Package web serves the SunOye daemon's local API: a JSON-over-HTTP API
// on a unix socket that only the user running the daemon can reach (mode
// 0600, and the peer's uid checked on Linux). The sunoye CLI is its
// client (Client); the chat window's UI joins it in the desktop build.
//
// Contract types (RoomJSON, MessageJSON, …) live in api.go: scripts rely on
// their field names.
package web
