package rooms

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// Labels of the secrets a daemon derives from its identity (see
// Identity.localSecret).
const (
	labelLeaseToken = "sunoye/v2 lease token"
	labelClientID   = "sunoye/v2 client id"
)

// credentials returns what this member shows the registry for the room
// with key k: the join proof, and a lease token that is stable across
// restarts (derived, not stored), secret (derived from the identity's
// private seed, which never leaves the machine) and different in every
// room and generation (a generation has a fresh salt, hence a fresh key).
func (s *Service) credentials(k Key) Credentials {
	m := hmac.New(sha256.New, s.tokenKey)
	m.Write(k.mac(labelLeaseToken))
	return Credentials{Proof: k.JoinProof(), Token: m.Sum(nil)}
}

// lease returns this member's lease on room id of generation gen with
// key k.
func (s *Service) lease(id ID, gen int64, k Key) Lease {
	return Lease{Room: id, Generation: gen, Credentials: s.credentials(k)}
}

// clientID names a room's broker session. It is stable across restarts,
// so that the broker keeps queueing the room's messages while the daemon
// is down, and unique per member and room. It cannot be derived from
// anything a broker client sees: it is keyed by a secret of this
// identity that never appears on the wire, so nobody can connect with it
// to take the session over (which disconnects the member and, with a
// clean session, erases what the broker queued for it).
func (s *Service) clientID(k Key) string {
	m := hmac.New(sha256.New, s.clientKey)
	m.Write(k.mac(labelClientID))
	return "sunoye-" + hex.EncodeToString(m.Sum(nil)[:16])
}
