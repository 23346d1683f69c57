package window

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
)

// The window stays on its page's origin, whatever the page does: a
// navigation to another origin (the same server under another name, so
// that the server sees whether it was tried), a link clicked there, a
// new window: none of them reaches the other origin, and the page lives
// on. A navigation within the origin goes through.
func TestWindowStaysOnItsOrigin(t *testing.T) {
	if !Native {
		t.Fatal("this build has no webview; build with cgo on Linux (it is the default)")
	}
	display := testenv.Xvfb(t)
	var elsewhere, alive, inside atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case !strings.HasPrefix(r.Host, "127.0.0.1:"):
			elsewhere.Add(1)
			fmt.Fprint(w, `<!doctype html><p>elsewhere</p>`)
		case r.URL.Path == "/alive":
			alive.Add(1)
		case r.URL.Path == "/inside":
			inside.Add(1)
			fmt.Fprint(w, `<!doctype html><p>inside</p>`)
		default:
			other := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
			fmt.Fprintf(w, `<!doctype html><body><a id="l" href="%[1]s/link">link</a><script>
setTimeout(() => {
	location.href = %[1]q + '/assigned';
	document.getElementById('l').click();
	window.open(%[1]q + '/popup');
	let beats = 0;
	setInterval(() => { fetch('/alive'); if (++beats === 25) location.href = '/inside'; }, 100);
}, 50);
</script></body>`, other)
		}
	}))
	t.Cleanup(srv.Close)
	m := newTestManager(t, display, time.Minute)
	if err := m.Open(t.Context(), "room/482913057", "SunOye — 482913057", func() string { return srv.URL + "/" }); err != nil {
		t.Fatal(err)
	}
	// Twenty beats of the page's heart, two seconds at least, after the
	// attempts: a navigation that went through would have replaced it.
	waitFor(t, 60*time.Second, "the page to live on after its attempts", func() bool { return alive.Load() >= 20 })
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the window went to another origin %d times", n)
	}
	waitFor(t, 30*time.Second, "a navigation within the origin", func() bool { return inside.Load() >= 1 })
}
