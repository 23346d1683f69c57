package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Limits of the chat UI's credentials. Both kinds are kept in memory only,
// so a restarted daemon has forgotten every one of them.
const (
	// DefaultLaunchTTL is how long a launch URL stays usable: long enough
	// for a web engine to start on a slow machine, short enough that a URL
	// found later in a process list or history is worthless (it is also
	// spent by its first use).
	DefaultLaunchTTL = 2 * time.Minute
	// DefaultSessionIdle is how long a session lives unused. Every request
	// with it is a use, and so is an open event stream (an open window
	// holds one), so a window left open overnight stays signed in, while
	// a session copied out of one (to a script, say) dies half a day after
	// its last use.
	DefaultSessionIdle = 12 * time.Hour
	// DefaultSessionMax is how long a session lives at most, in use or
	// not: a window open longer than a week says it is no longer signed
	// in, and is opened again from the tray.
	DefaultSessionMax = 7 * 24 * time.Hour
	// maxLaunches bounds unspent launch tokens; the oldest go first.
	maxLaunches = 64
	// maxSessions bounds live sessions (one per window that was opened);
	// the least recently used go first, so a window in use keeps its
	// session however many windows open after it.
	maxSessions = 64
	// secretBytes is the size of launch tokens and session tokens.
	secretBytes = 32
)

// keyOf is how a secret is looked up: by its hash, so that the lookup's
// timing says nothing about the stored secrets.
type keyOf [sha256.Size]byte

func hashSecret(s string) keyOf { return sha256.Sum256([]byte(s)) }

// newSecret returns 32 random bytes, base64url-encoded.
func newSecret() string {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux, and panics rather than return short
	return base64.RawURLEncoding.EncodeToString(b)
}

// launch is an unspent launch token.
type launch struct {
	view    View
	expires time.Time
}

// session is a live session: when it began, when it was last used, and
// how many event streams it holds open (each an open window), which keep
// it from going idle.
type session struct {
	started, used time.Time
	streams       int
}

// authority mints and checks the chat UI's launch tokens and sessions.
type authority struct {
	launchTTL time.Duration // see UIOptions
	idle, max time.Duration
	now       func() time.Time

	mu       sync.Mutex
	launches map[keyOf]launch
	sessions map[keyOf]session
}

// newAuthority returns an authority with opt's limits and clock, which
// must be set (NewUI fills in the defaults).
func newAuthority(opt UIOptions) *authority {
	return &authority{
		launchTTL: opt.LaunchTTL, idle: opt.SessionIdle, max: opt.SessionMax, now: opt.Now,
		launches: make(map[keyOf]launch), sessions: make(map[keyOf]session),
	}
}

// mint returns a new launch token for v.
func (a *authority) mint(v View) string {
	tok := newSecret()
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, l := range a.launches {
		if now.After(l.expires) {
			delete(a.launches, k)
		}
	}
	if len(a.launches) >= maxLaunches {
		deleteOldest(a.launches, func(l launch) time.Time { return l.expires })
	}
	a.launches[hashSecret(tok)] = launch{view: v, expires: now.Add(a.launchTTL)}
	return tok
}

// spend exchanges a launch token for a new session token and the launch
// token's view. A launch token works once: it is gone after the first
// try, whether that try was in time or not.
func (a *authority) spend(tok string) (token string, v View, ok bool) {
	if tok == "" {
		return "", View{}, false
	}
	k := hashSecret(tok)
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	l, found := a.launches[k]
	delete(a.launches, k)
	if !found || now.After(l.expires) {
		return "", View{}, false
	}
	for k, s := range a.sessions {
		if a.expired(s, now) {
			delete(a.sessions, k)
		}
	}
	if len(a.sessions) >= maxSessions {
		deleteOldest(a.sessions, func(s session) time.Time { return s.used })
	}
	token = newSecret()
	a.sessions[hashSecret(token)] = session{started: now, used: now}
	return token, l.view, true
}

// use reports whether token is a live session token, and counts this as a
// use of it. A session that has expired is forgotten.
func (a *authority) use(token string) bool { return a.update(token, nil) }

// hold counts an event stream opened with token, which keeps the session
// in use until release; it reports whether token is a live session.
func (a *authority) hold(token string) bool {
	return a.update(token, func(s *session) { s.streams++ })
}

// release counts an event stream of token closed: a last use.
func (a *authority) release(token string) {
	a.update(token, func(s *session) { s.streams-- })
}

// update applies f to the live session of token, and reports whether
// there is one.
func (a *authority) update(token string, f func(*session)) bool {
	if token == "" {
		return false
	}
	k := hashSecret(token)
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.sessions[k]
	if !ok {
		return false
	}
	if a.expired(s, now) {
		delete(a.sessions, k)
		return false
	}
	s.used = now
	if f != nil {
		f(&s)
	}
	a.sessions[k] = s
	return true
}

// expired reports whether s has lived too long, or has been idle too long
// with no event stream open.
func (a *authority) expired(s session, now time.Time) bool {
	return now.Sub(s.started) > a.max || (s.streams == 0 && now.Sub(s.used) > a.idle)
}

// bearer returns the session token of r: the credentials of an
// "Authorization: Bearer TOKEN" header, or "".
func bearer(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// deleteOldest removes the entry of m with the earliest time.
func deleteOldest[V any](m map[keyOf]V, at func(V) time.Time) {
	var oldest keyOf
	var first time.Time
	found := false
	for k, v := range m {
		if t := at(v); !found || t.Before(first) {
			oldest, first, found = k, t, true
		}
	}
	if found {
		delete(m, oldest)
	}
}
