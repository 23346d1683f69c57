package rooms

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"strings"
)

// IDDigits is the length of a room number.
const IDDigits = 9

// ID is a room number: nine decimal digits, the first not zero, drawn at
// random so that the count of rooms says nothing about which numbers exist.
type ID string

// NewID draws a random room number.
func NewID() ID {
	// 100000000..999999999: a leading zero would be lost by anyone who
	// types the number into a spreadsheet.
	n, err := rand.Int(rand.Reader, big.NewInt(900_000_000))
	if err != nil {
		panic("rooms: crypto/rand failed: " + err.Error())
	}
	return ID(fmt.Sprintf("%d", n.Int64()+100_000_000))
}

// ParseID reads a room number as people type it: digits, optionally grouped
// with spaces or dashes ("482 913 057", "482-913-057").
func ParseID(s string) (ID, error) {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-':
		default:
			return "", fmt.Errorf("%w %q: use the %d digits of the room number", ErrBadRoomNumber, s, IDDigits)
		}
	}
	id := b.String()
	if len(id) != IDDigits || id[0] == '0' {
		return "", fmt.Errorf("%w %q: use the %d digits of the room number", ErrBadRoomNumber, s, IDDigits)
	}
	return ID(id), nil
}

// String returns the room number.
func (id ID) String() string { return string(id) }
