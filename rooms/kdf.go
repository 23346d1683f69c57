package rooms

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime/debug"

	"golang.org/x/crypto/argon2"
)

// KDFParams are the Argon2id parameters with which a room key is derived
// from the room password. They are stored per room so that they can be
// raised for new rooms without breaking old ones.
type KDFParams struct {
	Time      uint32 // iterations
	MemoryKiB uint32
	Threads   uint8
}

// DefaultKDF is used for new rooms. On the 2-core development machine a
// derivation takes about 65 ms (see BenchmarkDeriveKey), so a join stays
// well under half a second even on a laptop several times slower, while
// every guess of an attacker holding a copy of the registry costs 64 MiB
// of memory.
var DefaultKDF = KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 2}

// Limits on KDF parameters read from the registry: a hostile or careless
// registry row must not make a join take seconds and gigabytes (a join
// holds a derivation slot; see Service). The work (iterations × memory)
// may be up to about five times the default's, a few hundred milliseconds
// here.
const (
	maxKDFMemoryKiB = 256 << 10 // 256 MiB
	maxKDFTime      = 16
	maxKDFThreads   = 16
	maxKDFWork      = 1 << 20 // iterations × KiB: 1 GiB passes
	saltBytes       = 16
	keyBytes        = 32
)

// Validate reports whether p is within the limits a client accepts.
func (p KDFParams) Validate() error {
	if p.Time < 1 || p.Time > maxKDFTime || p.Threads < 1 || p.Threads > maxKDFThreads ||
		p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxKDFMemoryKiB ||
		uint64(p.Time)*uint64(p.MemoryKiB) > maxKDFWork {
		return fmt.Errorf("argon2id parameters t=%d m=%dKiB p=%d out of range", p.Time, p.MemoryKiB, p.Threads)
	}
	return nil
}

// NewSalt returns a fresh random salt for a room.
func NewSalt() []byte {
	s := make([]byte, saltBytes)
	if _, err := rand.Read(s); err != nil {
		panic("rooms: crypto/rand failed: " + err.Error())
	}
	return s
}

// Key is a room key: Argon2id of the room password and the room's salt.
// Everything a member needs is derived from it — the message key, the
// verifier stored in the registry, the room's topic — so a daemon keeps the
// key across restarts and never the password.
type Key struct {
	master [keyBytes]byte
}

// DeriveKey computes the room key from a password.
func DeriveKey(password string, salt []byte, p KDFParams) (Key, error) {
	if err := p.Validate(); err != nil {
		return Key{}, err
	}
	if len(salt) < 8 {
		return Key{}, fmt.Errorf("salt of %d bytes is too short", len(salt))
	}
	var k Key
	copy(k.master[:], argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, keyBytes))
	// Argon2id just used p.MemoryKiB (64 MiB) of scratch memory. The Go
	// runtime would keep it mapped for minutes; a daemon that joined a
	// room would idle at 100+ MB. Joins are rare: give it back now.
	debug.FreeOSMemory()
	return k, nil
}

// KeyFromBytes restores a key saved with Bytes.
func KeyFromBytes(b []byte) (Key, error) {
	if len(b) != keyBytes {
		return Key{}, fmt.Errorf("room key must be %d bytes, not %d", keyBytes, len(b))
	}
	var k Key
	copy(k.master[:], b)
	return k, nil
}

// Bytes returns the key for saving in the daemon's state file.
func (k Key) Bytes() []byte { return append([]byte(nil), k.master[:]...) }

// IsZero reports whether k is the zero Key.
func (k Key) IsZero() bool { return k.master == [keyBytes]byte{} }

// Labels keep the subkeys independent: knowing the verifier or the topic
// says nothing about the message key.
const (
	labelVerifier = "sunoye/v1 verifier"
	labelTopic    = "sunoye/v1 topic"
	labelMember   = "sunoye/v1 member tag"
	labelMessage  = "sunoye/v1 message key"
	labelProof    = "sunoye/v2 join proof"
)

// verifierV2 is the first byte of a verifier of schema 2 and later:
// 0x02 | SHA-256(join proof). A verifier of 32 bytes without it is the
// legacy one, HMAC(K, labelVerifier), with which a registry cannot check a
// join proof; rooms created before schema 2 keep it until they end.
const verifierV2 = 2

func (k Key) mac(label string) []byte {
	m := hmac.New(sha256.New, k.master[:])
	m.Write([]byte(label))
	return m.Sum(nil)
}

// JoinProof is what a member shows the registry to add a lease to the
// room: an HMAC of a constant under the key. The registry keeps only its
// SHA-256 (in the verifier), so reading the registry does not give it.
func (k Key) JoinProof() []byte { return k.mac(labelProof) }

// Verifier is what the registry stores to check a password and a join
// proof: 0x02 | SHA-256(JoinProof). It cannot be turned back into the key
// or the proof.
func (k Key) Verifier() []byte {
	sum := sha256.Sum256(k.JoinProof())
	return append([]byte{verifierV2}, sum[:]...)
}

// Verify reports, in constant time, whether v is this key's verifier: the
// current one, or the legacy one of rooms created before schema 2.
func (k Key) Verify(v []byte) bool {
	if len(v) == 1+sha256.Size && v[0] == verifierV2 {
		return subtle.ConstantTimeCompare(k.Verifier(), v) == 1
	}
	return subtle.ConstantTimeCompare(k.mac(labelVerifier), v) == 1
}

// Errors of CheckProof.
var (
	// ErrLegacyVerifier: the room's verifier predates join proofs, so the
	// registry cannot check one.
	ErrLegacyVerifier = errors.New("legacy verifier: join proofs cannot be checked")
	errBadProof       = fmt.Errorf("%w: the join proof does not match the room", ErrWrongPassword)
)

// CheckProof reports whether proof matches a room's verifier, as a
// registry checks it before adding a lease: nil if it does,
// ErrLegacyVerifier if the verifier cannot check proofs, an error
// matching ErrWrongPassword otherwise. (The stored procedures of the
// MySQL registry compute the same in SQL.)
func CheckProof(verifier, proof []byte) error {
	if len(verifier) != 1+sha256.Size || verifier[0] != verifierV2 {
		return ErrLegacyVerifier
	}
	sum := sha256.Sum256(proof)
	if subtle.ConstantTimeCompare(sum[:], verifier[1:]) != 1 {
		return errBadProof
	}
	return nil
}

// tag names the room on the broker. It is derived from the key rather than
// the room number, so the broker (a public one, say) cannot tell which room
// number a topic belongs to, and a reused number gets a fresh topic.
func (k Key) tag() string { return hex.EncodeToString(k.mac(labelTopic)[:16]) }

func (k Key) messageKey() []byte {
	b, err := hkdf.Key(sha256.New, k.master[:], nil, labelMessage, 32)
	if err != nil {
		panic("rooms: hkdf: " + err.Error()) // only for impossible lengths
	}
	return b
}
