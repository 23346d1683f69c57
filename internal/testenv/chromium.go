package testenv

import (
	"path/filepath"
	"testing"
)

// Chromium returns the path of the chromium program and the flags it needs
// to run headless here: as root (hence --no-sandbox), without a GPU,
// without network access (hence no background traffic, updates or sync),
// and with a fresh profile in a temp dir removed when the test ends.
// Chromium does not start the browser.
func Chromium(t testing.TB) (path string, flags []string) {
	t.Helper()
	path = NeedBinary(t, "chromium", "chromium")
	flags = []string{
		"--headless",
		"--no-sandbox",
		"--disable-gpu",
		"--disable-quic",
		"--no-first-run",
		"--disable-background-networking",
		"--disable-component-update",
		"--disable-sync",
		// CI containers have a small /dev/shm, and Chromium crashes when
		// it fills up; /tmp has room.
		"--disable-dev-shm-usage",
		"--user-data-dir=" + filepath.Join(t.TempDir(), "chromium"),
	}
	return path, flags
}
