package rooms

import "testing"

// Leaving closes a room when no other member is live: presence decides
// while the broker is connected; without it, the registry's count does.
func TestLastMember(t *testing.T) {
	self := Member{ID: "me", Name: "Asha", Self: true}
	other := Member{ID: "them", Name: "Bilal"}
	for _, c := range []struct {
		name      string
		members   []Member
		leases    int
		connected bool
		want      bool
	}{
		{"alone", []Member{self}, 1, true, true},
		// The registry still counts another: one who has just left, or
		// whose daemon is offline with a live lease.
		{"alone, the registry counting another", []Member{self}, 2, true, true},
		{"with another, just joined, the registry not told yet", []Member{self, other}, 1, true, false},
		{"with another", []Member{self, other}, 2, true, false},
		{"presence stale, the registry counts only us", []Member{self, other}, 1, false, true},
		{"presence stale, the registry counts another", []Member{self, other}, 2, false, false},
		{"no presence yet", nil, 0, false, true},
	} {
		r := RoomInfo{Members: c.members, Leases: c.leases, Connected: c.connected}
		if got := r.LastMember(); got != c.want {
			t.Errorf("%s: LastMember() = %v, want %v", c.name, got, c.want)
		}
	}
}
