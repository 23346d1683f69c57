package testenv

import (
	"fmt"
	"os"
	"testing"
)

// maxSocketDir is how long a directory path may be so that a unix socket
// in it, with a short name, fits in sockaddr_un's 108 bytes.
const maxSocketDir = 80

// shortTempDir returns a new temporary directory whose path is short
// enough to hold unix sockets, removed when the test ends. t.TempDir is
// not used because its path contains the test's name and can be too long.
func shortTempDir(t testing.TB, prefix string) string {
	t.Helper()
	dir, err := makeShortTempDir(prefix)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func makeShortTempDir(prefix string) (string, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", fmt.Errorf("making temp dir: %w", err)
	}
	if len(dir) <= maxSocketDir {
		return dir, nil
	}
	// TMPDIR is too long for sockets; /tmp is always short.
	os.RemoveAll(dir)
	dir, err = os.MkdirTemp("/tmp", prefix)
	if err != nil {
		return "", fmt.Errorf("making temp dir: %w", err)
	}
	return dir, nil
}
