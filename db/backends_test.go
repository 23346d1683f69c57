package db

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
)

// backend is one database that the shared suite runs against.
type backend struct {
	name string
	// dsn returns the DSN of a fresh, empty registry. It may skip the test
	// (no MariaDB server outside CI).
	dsn func(t testing.TB) string
}

// backends are SQLite in a temporary directory and a real MariaDB.
var backends = []backend{
	{name: "sqlite", dsn: func(t testing.TB) string {
		return "sqlite://" + filepath.ToSlash(filepath.Join(t.TempDir(), "registry", "rooms.db"))
	}},
	{name: "mariadb", dsn: testenv.MariaDB},
}

// open opens the registry at dsn for the duration of the test.
func open(t testing.TB, dsn string) *Registry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := Open(ctx, dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// newRecord returns a record for a new random room number.
func newRecord(t testing.TB) rooms.Record {
	return rooms.Record{
		ID:       rooms.NewID(),
		Salt:     randomBytes(16),
		KDF:      rooms.KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 4},
		Verifier: randomBytes(32),
	}
}

// newMember returns a random member id.
func newMember() rooms.MemberID {
	return rooms.MemberID("m" + hex.EncodeToString(randomBytes(16)))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// testCtx is a context for one test's registry calls.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
