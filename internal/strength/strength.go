// Package strength estimates how hard a chosen password is to guess, with
// zxcvbn. It is linked only into sunoye-strength (cmd/sunoye-strength),
// which the daemon runs when it needs an estimate: zxcvbn's dictionaries
// are built when a program starts, and take memory for as long as it runs.
package strength

import (
	"math"

	"github.com/trustelem/zxcvbn"
	"github.com/trustelem/zxcvbn/match"

	"github.com/sunoye/sunoye/rooms"
)

// maxEstimatedRunes bounds what is estimated: zxcvbn's matching grows
// quickly with length (a 1000-character repetition takes seconds), and
// the first hundred characters of a password that is strong at all are.
// What comes after them counts for nothing.
const maxEstimatedRunes = 100

// Estimate estimates how many guesses p takes, with zxcvbn
// (Dropbox's estimator, v4.4.2, as ported by github.com/trustelem/zxcvbn):
// it knows 30,000 common passwords, English words, names and surnames,
// keyboard patterns, repetitions, sequences, dates and l33t spellings, and
// counts the rest as about 3.3 bits a character.
func Estimate(p string) rooms.Strength {
	if r := []rune(p); len(r) > maxEstimatedRunes {
		p = string(r[:maxEstimatedRunes])
	}
	res := zxcvbn.PasswordStrength(p, nil)
	s := rooms.Strength{Bits: math.Log2(max(res.Guesses, 1))}
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
