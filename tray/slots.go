package tray

import (
	"slices"
	"strconv"

	"github.com/sunoye/sunoye/rooms"
)

// Room entries keep their order (by room number) without ever moving.
//
// A tray menu can only be appended to, yet a new room may sort between
// two others, and the items after the rooms (Do not disturb, Settings…,
// Quit) must stay last. Moving entries would mean removing and re-adding
// them under new ids, and a click that a panel sends for the old id in
// the meantime would be lost; re-labelling entries in place by position
// would be worse, sending a click on what the user saw as one room to
// another. So the room section is a row of slots, most of them hidden:
// a room takes a free slot between its neighbours (picked by
// interpolating its number, as in a library's shelves with gaps) and
// keeps it until it is left, when the slot is hidden again. Only when
// there is no gap left between two neighbours is the menu built anew,
// with more slots: rare, and logged.

// place returns a free slot for room id that keeps the shown rooms in
// order, or -1 if its neighbours leave no gap.
func (m *menu) place(id rooms.ID) int {
	lo, hi := -1, len(m.slots)
	for i, s := range m.slots {
		b := s.bound()
		switch {
		case b == "":
		case cmpID(b, id) < 0:
			lo = i
		default:
			hi = i
		}
		if hi != len(m.slots) {
			break
		}
	}
	if hi-lo < 2 {
		return -1
	}
	// Every slot between the neighbours is free. Aim where the number
	// falls between theirs, so that gaps remain on both sides for the
	// rooms still to come.
	low, high := idNumber(minID), idNumber(maxID)+1
	if lo >= 0 {
		low = idNumber(m.slots[lo].bound())
	}
	if hi < len(m.slots) {
		high = idNumber(m.slots[hi].bound())
	}
	frac := 0.5
	if high > low {
		frac = (idNumber(id) - low) / (high - low)
	}
	i := lo + 1 + int(frac*float64(hi-lo-1))
	return min(max(i, lo+1), hi-1)
}

// spread places rs (in order) on n slots: each where its number falls,
// but at least gap apart, so that every room has free slots around it.
func spread(rs []rooms.RoomInfo, n int) []int {
	gap := max(2, n/(2*(len(rs)+1)))
	pos := make([]int, len(rs))
	for k, r := range rs {
		frac := (idNumber(r.ID) - idNumber(minID)) / (idNumber(maxID) + 1 - idNumber(minID))
		pos[k] = gap/2 + int(frac*float64(n-gap))
		if k > 0 {
			pos[k] = max(pos[k], pos[k-1]+gap)
		}
	}
	for k := len(pos) - 1; k >= 0; k-- {
		limit := n - 1
		if k < len(pos)-1 {
			limit = pos[k+1] - gap
		}
		pos[k] = min(pos[k], limit)
	}
	return pos
}

func sortedRooms(rs []rooms.RoomInfo) []rooms.RoomInfo {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b rooms.RoomInfo) int { return cmpID(a.ID, b.ID) })
	return rs
}

// Room numbers have a fixed number of digits, so they compare as strings.
func cmpID(a, b rooms.ID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

const (
	minID rooms.ID = "100000000"
	maxID rooms.ID = "999999999"
)

// idNumber is the room number as a number, for interpolating; anything
// unexpected counts as the middle.
func idNumber(id rooms.ID) float64 {
	n, err := strconv.ParseUint(string(id), 10, 64)
	if err != nil {
		return 550_000_000
	}
	return float64(n)
}
