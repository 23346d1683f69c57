package db

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
)

// testBackend is one database that the shared suite runs against.
type testBackend struct {
	name string
	// dsn returns the DSN of a fresh, empty registry. It may skip the test
	// (no MariaDB server outside CI).
	dsn func(t testing.TB) string
}

// backends are SQLite in a temporary directory and a real MariaDB.
var backends = []testBackend{
	{name: "sqlite", dsn: func(t testing.TB) string {
		return SQLiteDSN(filepath.Join(t.TempDir(), "registry", "rooms.db"))
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

// openTogether opens two registries at dsn at the same moment, as two
// daemons starting together do (both may migrate), for the duration of
// the test.
func openTogether(t *testing.T, dsn string) [2]*Registry {
	var (
		regs [2]*Registry
		wg   sync.WaitGroup
	)
	for i := range regs {
		wg.Go(func() { regs[i] = open(t, dsn) })
	}
	wg.Wait()
	return regs
}

// newRecord returns a record for a new random room number. Its verifier is
// that of the join proof proofOf(rec).
func newRecord(t testing.TB) rooms.Record {
	rec := rooms.Record{
		ID:   rooms.NewID(),
		Salt: randomBytes(16),
		KDF:  rooms.KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 4},
	}
	sum := sha256.Sum256(proofOf(rec))
	rec.Verifier = append([]byte{2}, sum[:]...)
	return rec
}

// proofOf returns the join proof of rec's room, which every member of the
// tests knows: derived from the salt, standing for one derived from the
// room key.
func proofOf(rec rooms.Record) []byte {
	sum := sha256.Sum256(append([]byte("proof of "), rec.Salt...))
	return sum[:]
}

// newMember returns the credentials of a new member of rec's room: the
// room's proof and a token of its own.
func newMember(rec rooms.Record) rooms.Credentials {
	return rooms.Credentials{Proof: proofOf(rec), Token: randomBytes(32)}
}

// lease returns the lease of member m on rec's room.
func lease(rec rooms.Record, m rooms.Credentials) rooms.Lease {
	return rooms.Lease{Room: rec.ID, Generation: rec.Generation, Credentials: m}
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
