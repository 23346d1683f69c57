package chatview

import (
	"fmt"
	"html"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cli/browser"
)

// launchFileLife is how long a launch page stays on disk: longer than a
// browser takes to start, and the token in it is spent or expired by then.
const launchFileLife = 2 * time.Minute

// OpenBrowser shows url in the default browser: the way windows open where
// there is no webview (github.com/cli/browser knows each system's opener).
//
// The URL carries a one-time token, and the opener's command line (which
// every local user can read in the process list) would show it, racing the
// browser for it. So the browser is given a page in a private file (mode
// 0600) that redirects to url instead.
func OpenBrowser(url string) error {
	f, err := os.CreateTemp("", "sunoye-launch-*.html") // 0600
	if err != nil {
		return fmt.Errorf("open the default browser: %w", err)
	}
	page := `<!doctype html><meta charset="utf-8"><meta name="referrer" content="no-referrer">` +
		`<meta http-equiv="refresh" content="0;url=` + html.EscapeString(url) + `"><title>SunOye</title>`
	_, werr := f.WriteString(page)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(f.Name())
		return fmt.Errorf("open the default browser: %w", werr)
	}
	time.AfterFunc(launchFileLife, func() { os.Remove(f.Name()) })
	if err := browser.OpenURL(fileURL(filepath.ToSlash(f.Name()))); err != nil {
		return fmt.Errorf("open the default browser: %w", err)
	}
	return nil
}

// fileURL is the file: URL of an absolute path written with forward
// slashes: file:///tmp/x.html, and on Windows file:///C:/Users/me/x.html
// (with "file://C:\…" Windows takes C: for a host and runs the page as a
// program). Characters a URL gives a meaning are escaped.
func fileURL(slashed string) string {
	if !strings.HasPrefix(slashed, "/") {
		slashed = "/" + slashed
	}
	return (&url.URL{Scheme: "file", Path: slashed}).String()
}
