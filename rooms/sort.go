package rooms

import (
	"cmp"
	"slices"
	"strings"
)

// sortMembers orders by display name, case-insensitively, then id, so
// lists are stable between refreshes.
func sortMembers(ms []Member) {
	slices.SortFunc(ms, func(a, b Member) int {
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}
