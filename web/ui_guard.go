package web

import (
	"net/http"
	"strings"
)

// contentSecurityPolicy allows the page nothing but its own files: no
// inline script or style, no other origin, no framing. Should a message
// ever reach the page as markup, it could still run nothing. Images may
// come from blob: URLs: the page fetches a file with its session and shows
// it from one (a blob: image runs nothing, and only PNG, JPEG, GIF and
// WebP are shown).
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self' data: blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// setSecurityHeaders sets the headers every answer of the chat UI carries,
// refusals included.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	// Nothing the UI serves is worth caching, and API answers hold
	// messages and passwords that must not land in a disk cache.
	h.Set("Cache-Control", "no-store")
}

// hostOK reports whether the Host header names this server exactly. A DNS
// rebinding attack reaches the port under the attacker's host name, which
// this refuses before anything else is looked at.
func (u *UI) hostOK(host string) bool {
	return host == "127.0.0.1:"+u.port || host == "localhost:"+u.port
}

// ownOrigin reports whether origin is this server's.
func (u *UI) ownOrigin(origin string) bool {
	return origin == "http://127.0.0.1:"+u.port || origin == "http://localhost:"+u.port
}

// crossSite returns why r looks like it was sent by another site's page,
// or "" if it does not. The session is a header that only our own page can
// set (it is no cookie, which the browser would attach for any page of
// 127.0.0.1, whatever its port), so this is the second line: a page of
// another origin that got hold of a session, or of a launch token (which
// POST /v1/session takes without a session), still gets nothing done.
// What tells the pages apart is the origin, which browsers state and pages
// cannot forge:
//
//   - The checks apply to the API (/v1/…, the event stream and the
//     session exchange included) and to every request that is not GET or
//     HEAD. Page loads (/, the assets) are navigations that may come from
//     anywhere and change nothing.
//   - An Origin header, if present, must be ours. Browsers send it on
//     every cross-origin request and on every POST, PUT and DELETE, so a
//     foreign page's write always shows a foreign Origin.
//   - Without Origin, Sec-Fetch-Site, if present, must be "same-origin"
//     (or "none", a request the user made by hand, for GET and HEAD).
//     A browser that sends neither header is too old to be a foreign
//     page's tool here; a program without them (curl, a script) holds a
//     session only if the user gave it one.
func (u *UI) crossSite(r *http.Request) string {
	safe := r.Method == http.MethodGet || r.Method == http.MethodHead
	if safe && !strings.HasPrefix(r.URL.Path, "/v1/") {
		return ""
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		if !u.ownOrigin(origin) {
			return "foreign Origin"
		}
		return ""
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin":
		return ""
	case "none":
		if safe {
			return ""
		}
	}
	return "cross-site request"
}

// refuse answers a request that failed a check. The log line names the
// check, never the request's query or headers (Authorization), which may
// hold secrets.
func (u *UI) refuse(w http.ResponseWriter, r *http.Request, status int, reason string) {
	u.log.Debug("chat UI request refused", "method", r.Method, "path", r.URL.Path,
		"host", r.Host, "origin", r.Header.Get("Origin"), "remote", r.RemoteAddr, "status", status, "reason", reason)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(reason + "\n"))
}
