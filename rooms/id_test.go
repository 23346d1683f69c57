package rooms

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseID(t *testing.T) {
	tests := []struct {
		in   string
		want ID
		ok   bool
	}{
		{"482913057", "482913057", true},
		{" 482 913 057 ", "482913057", true},
		{"482-913-057", "482913057", true},
		{"", "", false},
		{"48291305", "", false},
		{"4829130570", "", false},
		{"082913057", "", false},
		{"48291305x", "", false},
		{"1' OR '1'='1", "", false},
		{"４８２９１３０５７", "", false}, // full-width digits are not ASCII digits
		{"r1", "", false},
	}
	for _, tt := range tests {
		got, err := ParseID(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseID(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrBadRoomNumber) {
			t.Errorf("ParseID(%q) error %v is not ErrBadRoomNumber", tt.in, err)
		}
	}
}

func TestNewIDRandom(t *testing.T) {
	seen := map[ID]bool{}
	for range 1000 {
		id := NewID()
		if _, err := ParseID(string(id)); err != nil {
			t.Fatalf("NewID() = %q does not parse: %v", id, err)
		}
		seen[id] = true
	}
	if len(seen) < 999 {
		t.Errorf("1000 draws gave only %d distinct numbers", len(seen))
	}
}

func FuzzParseID(f *testing.F) {
	for _, s := range []string{"482913057", "482-913-057", "", "0", "1' OR 1=1 --", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		if err != nil {
			return
		}
		if len(id) != IDDigits || !regexp.MustCompile(`^[1-9][0-9]{8}$`).MatchString(string(id)) {
			t.Fatalf("ParseID(%q) = %q", s, id)
		}
	})
}

func TestGeneratePassword(t *testing.T) {
	shape := regexp.MustCompile(`^[a-z]+(-[a-z]+){3}-[0-9]{4}$`)
	seen := map[string]bool{}
	for range 200 {
		p, err := GeneratePassword()
		if err != nil {
			t.Fatal(err)
		}
		if !shape.MatchString(p) {
			t.Fatalf("GeneratePassword() = %q, not words-and-digits", p)
		}
		if err := CheckPassword(p); err != nil {
			t.Fatalf("generated password %q refused: %v", p, err)
		}
		seen[p] = true
	}
	if len(seen) != 200 {
		t.Errorf("200 passwords, %d distinct", len(seen))
	}
}

func TestCheckPassword(t *testing.T) {
	for _, p := range []string{"", "short", "1234567", "ñandú12"} {
		if err := CheckPassword(p); !errors.Is(err, ErrWeakPassword) {
			t.Errorf("CheckPassword(%q) = %v, want ErrWeakPassword", p, err)
		}
	}
	for _, p := range []string{"12345678", "correct horse", "ñandú123", strings.Repeat("x", MaxPasswordBytes)} {
		if err := CheckPassword(p); err != nil {
			t.Errorf("CheckPassword(%q…) = %v", p[:min(len(p), 12)], err)
		}
	}
	if err := CheckPassword(strings.Repeat("x", MaxPasswordBytes+1)); err == nil {
		t.Error("CheckPassword accepted an over-long password")
	}
}

func TestCheckTextAndName(t *testing.T) {
	if err := CheckText(strings.Repeat("a", MaxTextBytes)); err != nil {
		t.Errorf("text of exactly the limit: %v", err)
	}
	if err := CheckText(strings.Repeat("a", MaxTextBytes+1)); !errors.Is(err, ErrTooLong) {
		t.Errorf("text over the limit: %v", err)
	}
	for _, s := range []string{"", " ", "\n\t", "\xff"} {
		if CheckText(s) == nil {
			t.Errorf("CheckText(%q) accepted", s)
		}
	}
	for _, s := range []string{"", "  ", "a\x1bb", strings.Repeat("é", MaxNameRunes+1), "\xff"} {
		if CheckName(s) == nil {
			t.Errorf("CheckName(%q) accepted", s)
		}
	}
	if err := CheckName(strings.Repeat("é", MaxNameRunes)); err != nil || !utf8.ValidString("é") {
		t.Errorf("name of exactly the limit: %v", err)
	}
}
