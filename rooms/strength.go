package rooms

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/trustelem/zxcvbn"
	"github.com/trustelem/zxcvbn/match"
)

// ErrGuessable means a chosen password is estimated too easy to guess. A
// user may insist on it (`sunoye create --weak-password`); a room's key is
// only as strong as its password, against anyone who reads the registry.
var ErrGuessable = errors.New("password too easy to guess")

// MinPasswordBits is the estimated strength under which a chosen password
// is refused unless the user insists: 2^50 guesses at Argon2id's cost.
// Generated passwords have about 65.
const MinPasswordBits = 50

// maxEstimatedRunes bounds what is estimated: zxcvbn's matching grows
// quickly with length (a 1000-character repetition takes seconds), and
// the first hundred characters of a password that is strong at all are.
// What comes after them counts for nothing.
const maxEstimatedRunes = 100

// Strength is an estimate of how hard a password is to guess.
type Strength struct {
	// Bits is log2 of the guesses an attacker is estimated to need.
	Bits float64
	// Weaknesses names what makes it guessable, for people: "a common
	// password", "a keyboard pattern", …; empty if nothing stood out.
	Weaknesses []string
}

// EstimateStrength estimates how many guesses p takes, with zxcvbn
// (Dropbox's estimator, v4.4.2, as ported by github.com/trustelem/zxcvbn):
// it knows 30,000 common passwords, English words, names and surnames,
// keyboard patterns, repetitions, sequences, dates and l33t spellings, and
// counts the rest as about 3.3 bits a character.
func EstimateStrength(p string) Strength {
	if r := []rune(p); len(r) > maxEstimatedRunes {
		p = string(r[:maxEstimatedRunes])
	}
	res := zxcvbn.PasswordStrength(p, nil)
	s := Strength{Bits: math.Log2(max(res.Guesses, 1))}
	seen := map[string]bool{}
	for _, m := range res.Sequence {
		if w := weakness(m); w != "" && !seen[w] {
			seen[w] = true
			s.Weaknesses = append(s.Weaknesses, w)
		}
	}
	return s
}

func weakness(m *match.Match) string {
	var w string
	switch m.Pattern {
	case "dictionary":
		switch m.DictionaryName {
		case "passwords":
			w = "a common password"
		case "male_names", "female_names", "surnames":
			w = "a common name"
		default:
			w = "a common word"
		}
		switch {
		case m.L33t:
			w += " in l33t spelling"
		case m.Reversed:
			w += " reversed"
		}
	case "spatial":
		w = "a keyboard pattern"
	case "repeat":
		w = "a repetition"
	case "sequence":
		w = "a sequence such as abc or 123"
	case "regex", "date":
		w = "a date or year"
	}
	return w
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

// CheckStrength returns an error wrapping ErrGuessable, with the reason,
// if a chosen password is estimated under MinPasswordBits.
func CheckStrength(p string) error {
	s := EstimateStrength(p)
	if s.Bits >= MinPasswordBits {
		return nil
	}
	return fmt.Errorf("%w: %s; add words, or leave it out to get a generated password", ErrGuessable, s.Reason())
}
