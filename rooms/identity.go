package rooms

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"
)

// memberIDEncoding spells member ids in lower-case base32, which survives
// being a topic level and a database key.
var memberIDEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// Identity is a daemon's signing key. Every message and presence
// announcement is signed with it, and the member id is derived from its
// public half, so a room member cannot send in another member's name.
type Identity struct {
	priv ed25519.PrivateKey
}

// NewIdentity makes a new random identity.
func NewIdentity() Identity {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic("rooms: crypto/rand failed: " + err.Error())
	}
	return Identity{priv: priv}
}

// IdentityFromSeed restores an identity saved with Seed.
func IdentityFromSeed(seed []byte) (Identity, error) {
	if len(seed) != ed25519.SeedSize {
		return Identity{}, fmt.Errorf("identity seed must be %d bytes, not %d", ed25519.SeedSize, len(seed))
	}
	return Identity{priv: ed25519.NewKeyFromSeed(seed)}, nil
}

// Seed returns the private seed for saving in the state file.
func (id Identity) Seed() []byte { return id.priv.Seed() }

// Member returns the member id of this identity.
func (id Identity) Member() MemberID { return memberOf(id.priv.Public().(ed25519.PublicKey)) }

func (id Identity) public() ed25519.PublicKey { return id.priv.Public().(ed25519.PublicKey) }

// memberOf derives a member id from a public key: 120 bits of its SHA-256,
// enough that nobody can find a second key with the same id.
func memberOf(pub ed25519.PublicKey) MemberID {
	sum := sha256.Sum256(pub)
	return MemberID(strings.ToLower(memberIDEncoding.EncodeToString(sum[:15])))
}

// localSecret is a secret of this identity for one purpose: derived from
// the private seed, it never appears on the wire nor in the registry, so
// nobody can compute what is derived from it without the state file.
func (id Identity) localSecret(label string) []byte {
	m := hmac.New(sha256.New, id.priv.Seed())
	m.Write([]byte(label))
	return m.Sum(nil)
}
