package web

import (
	"sync"
	"testing"
	"time"
)

// TestClock is a clock for UIOptions.Now that moves only when told to.
// It is exported to this package's external tests (web_test) too.
type TestClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewTestClock returns a TestClock at a fixed time.
func NewTestClock() *TestClock { return &TestClock{now: time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)} }

// Now returns the clock's time.
func (c *TestClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d.
func (c *TestClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func testAuthority(clock *TestClock) *authority {
	return newAuthority(UIOptions{LaunchTTL: time.Minute, SessionIdle: time.Hour, SessionMax: 24 * time.Hour, Now: clock.Now})
}

func openSession(t *testing.T, a *authority) string {
	t.Helper()
	s, _, ok := a.spend(a.mint(View{Kind: ViewHome}))
	if !ok {
		t.Fatal("a fresh launch token was refused")
	}
	return s
}

// A window open for days keeps its session however many windows open
// after it, as long as it is in use: sessions go least recently used first.
func TestSessionsEvictLeastRecentlyUsed(t *testing.T) {
	clock := NewTestClock()
	a := testAuthority(clock)
	longLived := openSession(t, a)
	var idle string
	for i := range 3 * maxSessions {
		clock.Advance(time.Second) // distinct last-use times
		s := openSession(t, a)
		if i == 0 {
			idle = s
		}
		if !a.use(longLived) {
			t.Fatalf("the window in use lost its session after %d others opened", i+1)
		}
	}
	if a.use(idle) {
		t.Error("an idle session outlived 3×maxSessions newer ones")
	}
}

// A session dies after the idle time without use, and after the maximum
// whatever its use; use extends only the idle time.
func TestSessionsExpire(t *testing.T) {
	clock := NewTestClock()
	start := clock.Now()
	a := testAuthority(clock)
	used, unused := openSession(t, a), openSession(t, a)
	for range 24 { // 23 h 36 min
		clock.Advance(59 * time.Minute)
		if !a.use(used) {
			t.Fatalf("a session used every 59 minutes expired after %v", clock.Now().Sub(start))
		}
	}
	if a.use(unused) {
		t.Error("a session unused for longer than the idle time is still valid")
	}
	clock.Advance(30 * time.Minute) // 24 h 6 min since it began, 30 min since its last use
	if a.use(used) {
		t.Error("a session outlived the maximum")
	}
	fresh := openSession(t, a)
	clock.Advance(time.Hour)
	if !a.use(fresh) {
		t.Error("a session used exactly at the idle time expired")
	}
	clock.Advance(time.Hour + time.Nanosecond)
	if a.use(fresh) {
		t.Error("a session idle a nanosecond longer than the idle time is still valid")
	}
}
