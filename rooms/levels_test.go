package rooms

import (
	"errors"
	"strings"
	"testing"
)

func TestMentions(t *testing.T) {
	others := []string{"Asha Rao", "Bilal"}
	for _, c := range []struct {
		text string
		want bool
	}{
		{"@Asha hi", true},
		{"hi @asha", true},
		{"hi @ASHA, are you there?", true},
		{"(@asha)", true},
		{"@room meeting now", true},
		{"@Room", true},
		{"@Ashanti hi", false},
		{"mail asha@asha.example", false},
		{"bob@asha", false},
		{"@Asha Rao: hi", false}, // the longer name is meant
		{"@Asha Raoul", true},    // not Asha Rao (a letter follows): Asha
		{"Asha without the at", false},
		{"@roomy", false},
		{"@", false},
		{"@Bilal", false},
		{"é@asha", false},
		{"—@asha", true},
	} {
		if got := Mentions(c.text, "Asha", others...); got != c.want {
			t.Errorf("Mentions(%q, Asha) = %v, want %v", c.text, got, c.want)
		}
	}
	// A name with spaces, and one with letters whose case folding
	// changes their length in bytes.
	if !Mentions("hey @asha rao!", "Asha Rao", "Asha") || Mentions("hey @asha!", "Asha Rao", "Asha") {
		t.Error("a name with a space is not told from a shorter one")
	}
	if !Mentions("@ǅemal", "ǆemal") || !Mentions("@KELVİN", "kelvİn") {
		t.Error("case folding of non-ASCII names")
	}
	// The same name as ours: we are mentioned too.
	if !Mentions("@Asha", "Asha", "Asha") {
		t.Error("a mention of a name two members share skips one")
	}
}

func TestParseNotifyLevel(t *testing.T) {
	for _, s := range []string{"all", "mentions", "none"} {
		if l, err := ParseNotifyLevel(s); err != nil || string(l) != s {
			t.Errorf("ParseNotifyLevel(%q) = %q, %v", s, l, err)
		}
	}
	for _, s := range []string{"", "All", "mute", "mention"} {
		if _, err := ParseNotifyLevel(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseNotifyLevel(%q): %v, want ErrInvalid", s, err)
		}
	}
	for _, c := range []struct {
		sr   SavedRoom
		want NotifyLevel
	}{
		{SavedRoom{}, NotifyAll},
		{SavedRoom{Muted: true}, NotifyNone},
		{SavedRoom{Notify: NotifyMentions}, NotifyMentions},
		{SavedRoom{Notify: NotifyMentions, Muted: true}, NotifyMentions},
		{SavedRoom{Notify: "bogus", Muted: true}, NotifyNone},
	} {
		if got := c.sr.level(); got != c.want {
			t.Errorf("%+v: level %q, want %q", c.sr, got, c.want)
		}
	}
}

// Mentions never panics, and needs an "@".
func FuzzMentions(f *testing.F) {
	f.Add("@Asha Rao hi", "Asha", "Asha Rao")
	f.Add("x@asha @ROOM", "asha", "")
	f.Add("@\xff\xfe", "\xff", "İ")
	f.Fuzz(func(t *testing.T, text, name, other string) {
		if Mentions(text, name, other) && !strings.Contains(text, "@") {
			t.Errorf("Mentions(%q, %q, %q) without an @", text, name, other)
		}
	})
}
