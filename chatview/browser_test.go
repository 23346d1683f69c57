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
