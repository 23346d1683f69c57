package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
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
	// maxLaunches bounds unspent launch tokens; the oldest go first.
	maxLaunches = 64
	// maxSessions bounds live sessions (one per window that was opened);
	// the least recently used go first. A session lasts as long as the
	// daemon: a chat window may stay open for days, and keeps its session
	// however many windows open after it.
	maxSessions = 64
	// secretBytes is the size of launch tokens and session ids.
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

// authority mints and checks the chat UI's launch tokens and sessions.
type authority struct {
	ttl time.Duration

	mu       sync.Mutex
	launches map[keyOf]launch
	sessions map[keyOf]time.Time // session → when it was last used
}

func newAuthority(ttl time.Duration) *authority {
	return &authority{ttl: ttl, launches: make(map[keyOf]launch), sessions: make(map[keyOf]time.Time)}
}

// mint returns a new launch token for v.
func (a *authority) mint(v View) string {
	tok := newSecret()
	now := time.Now()
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
	a.launches[hashSecret(tok)] = launch{view: v, expires: now.Add(a.ttl)}
	return tok
}

// spend exchanges a launch token for a new session id and the token's
// view. A token works once: it is gone after the first try, whether that
// try was in time or not.
func (a *authority) spend(tok string) (session string, v View, ok bool) {
	if tok == "" {
		return "", View{}, false
	}
	k := hashSecret(tok)
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	l, found := a.launches[k]
	delete(a.launches, k)
	if !found || now.After(l.expires) {
		return "", View{}, false
	}
	if len(a.sessions) >= maxSessions {
		deleteOldest(a.sessions, func(t time.Time) time.Time { return t })
	}
	session = newSecret()
	a.sessions[hashSecret(session)] = now
	return session, l.view, true
}

// valid reports whether session is a live session id.
func (a *authority) valid(session string) bool {
	if session == "" {
		return false
	}
	k := hashSecret(session)
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.sessions[k]
	if ok {
		a.sessions[k] = time.Now()
	}
	return ok
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
