package chatview

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The browser is handed a private file, not the URL with its token: the
// token must not show in the process list.
func TestOpenBrowserKeepsTheTokenOffTheCommandLine(t *testing.T) {
	// A stand-in browser that records its arguments and the page it got.
	dir := t.TempDir()
	log := filepath.Join(dir, "args")
	fake := filepath.Join(dir, "fake-browser")
	script := "#!/bin/sh\necho \"$@\" > " + log + "\ncat \"${1#file://}\" >> " + log + "\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BROWSER", fake)
	const url = "http://127.0.0.1:4242/#launch=SECRET-TOKEN"
	if err := OpenBrowser(url); err != nil {
		t.Fatal(err)
	}
	var got string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(log)
		if got = string(b); strings.Contains(got, "</title>") {
			break
		}
	}
	args, page, _ := strings.Cut(got, "\n")
	if strings.Contains(args, "SECRET-TOKEN") || !strings.HasPrefix(args, "file://") {
		t.Errorf("the browser's command line is %q", args)
	}
	if !strings.Contains(page, `url=http://127.0.0.1:4242/#launch=SECRET-TOKEN"`) {
		t.Errorf("the launch page does not lead to the URL: %q", page)
	}
	file := strings.TrimPrefix(strings.TrimSpace(args), "file://")
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("launch page %s: %v, %v; want mode 0600", file, fi.Mode(), err)
	}
}

// The launch page's URL is a well-formed file URL on every system: on
// Windows the drive letter follows the third slash (Wine and Windows run
// "file://C:\…" as a program instead of showing it).
func TestFileURL(t *testing.T) {
	for slashed, want := range map[string]string{
		"/tmp/sunoye-launch-1.html":                           "file:///tmp/sunoye-launch-1.html",
		"C:/Users/me/AppData/Local/Temp/sunoye-launch-1.html": "file:///C:/Users/me/AppData/Local/Temp/sunoye-launch-1.html",
		"C:/Users/Jo Ann/Temp/#1.html":                        "file:///C:/Users/Jo%20Ann/Temp/%231.html",
	} {
		if got := fileURL(slashed); got != want {
			t.Errorf("fileURL(%q) = %q, want %q", slashed, got, want)
		}
	}
}
