package rooms

import (
	"crypto/hmac"
	"crypto/sha256"
	"math"
	"runtime"
	"testing"

	"golang.org/x/crypto/argon2"
)

// BenchmarkOfflineGuess measures what an attacker who has read a room's
// salt and verifier from the registry (any registry account can) gets:
// password guesses per second on this machine, every core busy, for each
// Argon2id setting — the default, and the largest a client accepts from
// the registry — beside the baseline of a fast hash (one HMAC-SHA-256 per
// guess), i.e. what the guesses would cost without a memory-hard KDF. It
// reports guesses/s and the years to search half of a 50-bit and of a
// 65-bit password space (a chosen password at the strength floor, and a
// generated one). docs/security.md quotes the figures.
//
//	go test ./rooms -run '^$' -bench OfflineGuess -benchtime 20x -count 5
func BenchmarkOfflineGuess(b *testing.B) {
	salt := NewSalt()
	verifier := func(k []byte) []byte {
		m := hmac.New(sha256.New, k)
		m.Write([]byte(labelProof))
		return m.Sum(nil)
	}
	settings := []struct {
		name string
		p    KDFParams
	}{
		{"argon2id-t3-m64MiB-p2-default", DefaultKDF},
		{"argon2id-t4-m256MiB-p2-max-accepted", KDFParams{Time: maxKDFWork / maxKDFMemoryKiB, MemoryKiB: maxKDFMemoryKiB, Threads: 2}},
	}
	for _, s := range settings {
		if err := s.p.Validate(); err != nil {
			b.Fatalf("%s: %v", s.name, err)
		}
		b.Run(s.name, func(b *testing.B) {
			b.SetParallelism(1) // GOMAXPROCS goroutines, one per core
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					verifier(argon2.IDKey([]byte("a-guessed-password"), salt, s.p.Time, s.p.MemoryKiB, s.p.Threads, keyBytes))
				}
			})
			reportGuesses(b)
		})
	}
	b.Run("baseline-hmac-sha256", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				verifier(salt)
			}
		})
		reportGuesses(b)
	})
}

func reportGuesses(b *testing.B) {
	perSec := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(perSec, "guesses/s")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "cores")
	year := 365.25 * 24 * 3600 * perSec
	b.ReportMetric(math.Exp2(49)/year, "years-50bit")
	b.ReportMetric(math.Exp2(64)/year, "years-65bit")
}
