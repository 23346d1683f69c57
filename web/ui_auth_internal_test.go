package web

import (
	"testing"
	"time"
)

// A window open for days keeps its session however many windows open
// after it, as long as it is in use: sessions go least recently used first.
func TestSessionsEvictLeastRecentlyUsed(t *testing.T) {
	a := newAuthority(time.Minute)
	open := func() string {
		s, _, ok := a.spend(a.mint(View{Kind: ViewHome}))
		if !ok {
			t.Fatal("a fresh launch token was refused")
		}
		return s
	}
	longLived := open()
	var idle string
	for i := range 3 * maxSessions {
		s := open()
		if i == 0 {
			idle = s
		}
		time.Sleep(time.Microsecond) // distinct last-use times
		if !a.valid(longLived) {
			t.Fatalf("the window in use lost its session after %d others opened", i+1)
		}
	}
	if a.valid(idle) {
		t.Error("an idle session outlived 3×maxSessions newer ones")
	}
}
