package strength

import (
	"errors"
	"strings"
	"testing"

	"github.com/sunoye/sunoye/rooms"
)

func TestGeneratedPasswordsAreStrong(t *testing.T) {
	for range 200 {
		p, err := rooms.GeneratePassword()
		if err != nil {
			t.Fatal(err)
		}
		if err := Estimate(p).Check(); err != nil {
			t.Fatalf("generated %q: %v", p, err)
		}
	}
}

func TestCheckStrength(t *testing.T) {
	for _, tc := range []struct {
		password string
		says     string // in the reason; "" if accepted
	}{
		{"password123", "a common password"},
		{"qwertyuiop", "a common password"},
		{"p@ssw0rd!", "l33t"},
		{"summer2024", "a common password"},
		{"jennifer1987", "a common name"},
		{"abcdefgh12345678", "a sequence"},
		{"zxcvbnm,./asdfghjkl", "a keyboard pattern"},
		{"blahblahblahblah", "a repetition"},
		{"Gf7kP2qXz9Lm", "too few random characters"},
		{"correcthorsebatterystaple", "a common word"},
		{"correct horse battery staple glacier", ""},
		{"v8#Lq2!xR9@mZ4$wK7pT", ""},
	} {
		err := Estimate(tc.password).Check()
		switch {
		case tc.says == "" && err != nil:
			t.Errorf("%q refused: %v", tc.password, err)
		case tc.says != "" && !errors.Is(err, rooms.ErrGuessable):
			t.Errorf("%q: %v, want ErrGuessable", tc.password, err)
		case tc.says != "" && !strings.Contains(err.Error(), tc.says):
			t.Errorf("%q: %q does not say %q", tc.password, err, tc.says)
		case err != nil && strings.Contains(err.Error(), tc.password):
			t.Errorf("the reason repeats the password: %v", err)
		}
	}
}

// A long, repetitive password does not keep the daemon busy: only the
// first maxEstimatedRunes are estimated.
func TestStrengthOfLongPasswords(t *testing.T) {
	if err := Estimate(strings.Repeat("x9Y", rooms.MaxPasswordBytes/3)).Check(); !errors.Is(err, rooms.ErrGuessable) {
		t.Errorf("a long repetition: %v, want ErrGuessable", err)
	}
}
