package rooms

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"strings"
	"unicode/utf8"

	"github.com/sethvargo/go-diceware/diceware"
)

// Password rules.
const (
	// MinPasswordRunes is the shortest password a user may choose.
	MinPasswordRunes = 8
	// MaxPasswordBytes keeps a pasted novel out of Argon2.
	MaxPasswordBytes = 1024
	// generatedWords words of the EFF large list (12.9 bits each) and a
	// four-digit number (13.3 bits) make about 65 bits: over the 60 the
	// product promises, and still easy to read out over the phone.
	generatedWords = 4
)

// GeneratePassword returns a random password such as
// "tide-amber-canopy-mellow-4821".
func GeneratePassword() (string, error) {
	words := make([]string, 0, generatedWords)
	for len(words) < generatedWords {
		w, err := diceware.Generate(1)
		if err != nil {
			return "", fmt.Errorf("generate password: %w", err)
		}
		// A few list entries ("drop-down", "t-shirt") have a dash of their
		// own, which would blur the word boundaries when read out.
		if !strings.Contains(w[0], "-") {
			words = append(words, w[0])
		}
	}
	n, err := rand.Int(rand.Reader, big.NewInt(10000))
	if err != nil {
		return "", fmt.Errorf("generate password: %w", err)
	}
	return fmt.Sprintf("%s-%04d", strings.Join(words, "-"), n.Int64()), nil
}

// CheckPassword reports whether a user-chosen password is acceptable.
func CheckPassword(p string) error {
	switch {
	case utf8.RuneCountInString(p) < MinPasswordRunes:
		return fmt.Errorf("%w: use at least %d characters, or leave it out to get a generated one", ErrWeakPassword, MinPasswordRunes)
	case len(p) > MaxPasswordBytes:
		return fmt.Errorf("%w: password longer than %d bytes", ErrInvalid, MaxPasswordBytes)
	case !utf8.ValidString(p):
		return fmt.Errorf("%w: password is not valid UTF-8", ErrInvalid)
	}
	return nil
}
