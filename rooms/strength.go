package rooms

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// ErrGuessable means a chosen password is estimated too easy to guess. A
// user may insist on it (`sunoye create --weak-password`); a room's key is
// only as strong as its password, against anyone who reads the registry.
var ErrGuessable = errors.New("password too easy to guess")

// MinPasswordBits is the estimated strength under which a chosen password
// is refused unless the user insists: 2^50 guesses at Argon2id's cost.
// Generated passwords have about 65.
const MinPasswordBits = 50

// Strength is an estimate of how hard a password is to guess.
//
// The estimate itself (package internal/strength, zxcvbn) runs in a
// program of its own, sunoye-strength: its dictionaries take some 7 MB
// of memory from the moment a program that links them starts, which a
// daemon that idles in the tray should not carry.
type Strength struct {
	// Bits is log2 of the guesses an attacker is estimated to need.
	Bits float64 `json:"bits"`
	// Weaknesses names what makes it guessable, for people: "a common
	// password", "a keyboard pattern", …; empty if nothing stood out.
	Weaknesses []string `json:"weaknesses"`
}

// Reason says how strong the estimate is, of the MinPasswordBits wanted,
// and what makes it weak: "estimated 20 of 50 bits: a common password and
// a date or year".
func (s Strength) Reason() string {
	r := fmt.Sprintf("estimated %.0f of %d bits", math.Floor(s.Bits), MinPasswordBits)
	switch n := len(s.Weaknesses); {
	case n == 0:
		r += ": too few random characters"
	case n == 1:
		r += ": " + s.Weaknesses[0]
	default:
		r += ": " + strings.Join(s.Weaknesses[:n-1], ", ") + " and " + s.Weaknesses[n-1]
	}
	return r
}

// Check returns an error wrapping ErrGuessable, with the reason, if the
// estimate is under MinPasswordBits.
func (s Strength) Check() error {
	if s.Bits >= MinPasswordBits {
		return nil
	}
	return fmt.Errorf("%w: %s; add words, or leave it out to get a generated password", ErrGuessable, s.Reason())
}
