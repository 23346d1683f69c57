package rooms

import (
	"errors"
	"strings"
	"testing"
)

func TestInviteRoundTrip(t *testing.T) {
	for _, pw := range []string{"tide-amber-canopy-mellow-4821", "with space & #hash/slash?", "ñandú-🙂-ok"} {
		inv := Invite{Room: "482913057", Password: pw}
		for _, text := range []string{inv.Link(), inv.String(), "join us: " + inv.Link() + "\nsee you"} {
			got, err := ParseInvite(text)
			if err != nil || got != inv {
				t.Errorf("ParseInvite(%q) = %+v, %v; want %+v", text, got, err, inv)
			}
		}
	}
}

func TestParseInviteRejects(t *testing.T) {
	for _, text := range []string{
		"", "room 482913057 password x", "sunoye://join/482913057", "sunoye://join/12#longenough",
		"sunoye://join/482913057#short", "sunoye://join/482913057#%zz%zz%zz%zz", "sunoye://join/' OR 1=1 --#password1",
	} {
		if _, err := ParseInvite(text); !errors.Is(err, ErrBadInvite) {
			t.Errorf("ParseInvite(%q) = %v, want ErrBadInvite", text, err)
		}
	}
}

func FuzzParseInvite(f *testing.F) {
	f.Add(Invite{Room: "482913057", Password: "tide-amber-canopy-mellow-4821"}.String())
	f.Add("sunoye://join/482913057#%F0%9F%99%82-password")
	f.Add("sunoye://join/#")
	f.Add(strings.Repeat("sunoye://join/", 100))
	f.Fuzz(func(t *testing.T, text string) {
		inv, err := ParseInvite(text)
		if err != nil {
			return
		}
		if _, err := ParseID(string(inv.Room)); err != nil || CheckPassword(inv.Password) != nil {
			t.Fatalf("ParseInvite(%q) accepted %+v", text, inv)
		}
		// What was parsed survives being shared again.
		if again, err := ParseInvite(inv.String()); err != nil || again != inv {
			t.Fatalf("re-parse of %+v: %+v, %v", inv, again, err)
		}
	})
}
