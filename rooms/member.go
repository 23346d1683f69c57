package rooms

// MemberID identifies a member: a running SunOye daemon. It is derived
// from the member's signing key, so that no one can send in another
// member's name without that key.
type MemberID string

// String returns the member id.
func (m MemberID) String() string { return string(m) }

// shortIDLen is how many characters of a member id tell members with the
// same display name apart: 30 bits, so that finding a key whose id starts
// the same as someone's takes about 2^30 tries.
const shortIDLen = 6

// Short returns the first characters of the member id, which tell members
// with the same display name apart.
func (m MemberID) Short() string {
	if len(m) <= shortIDLen {
		return string(m)
	}
	return string(m[:shortIDLen])
}

// Label returns how a member shows wherever a name shows in text: the
// display name and the start of the member id, "Asha (k4x9q2)". Names can
// be borrowed; the member id cannot, since it is derived from the key that
// signs.
func Label(name string, m MemberID) string { return name + " (" + m.Short() + ")" }
