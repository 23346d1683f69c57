package rooms

// MemberID identifies a member: a running SunOye daemon. It is derived
// from the member's signing key, so that no one can send in another
// member's name without that key.
type MemberID string

// String returns the member id.
func (m MemberID) String() string { return string(m) }
