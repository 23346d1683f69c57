package notifier

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSummary(t *testing.T) {
	for _, c := range []struct {
		sender string
		count  int
		want   string
	}{
		{"Asha", 1, "Asha · room 482913057"},
		{"Asha", 3, "Asha · room 482913057 (3 new)"},
		{"", 1, "Someone · room 482913057"},
		{"  \t ", 2, "Someone · room 482913057 (2 new)"},
		{"Line\nbreak", 1, "Line break · room 482913057"},
		{"<b>Asha</b>", 1, "<b>Asha</b> · room 482913057"}, // the summary is never markup
		{strings.Repeat("n", 70), 1, strings.Repeat("n", 64) + "… · room 482913057"},
	} {
		if got := summary(c.sender, "482913057", c.count, false); got != c.want {
			t.Errorf("summary(%q, %d) = %q, want %q", c.sender, c.count, got, c.want)
		}
	}
	if got, want := summary("Asha", "482913057", 2, true), "Asha mentioned you · room 482913057 (2 new)"; got != want {
		t.Errorf("summary of a mention = %q, want %q", got, want)
	}
}

func TestBody(t *testing.T) {
	long := strings.Repeat("é", maxBodyRunes+10)
	for _, c := range []struct {
		name, text string
		markup     bool
		want       string
	}{
		{"plain", "hello", false, "hello"},
		{"newlines kept", "one\ntwo\r\nthree\rfour", false, "one\ntwo\nthree\nfour"},
		{"trimmed", "\n  hi there \n\n", false, "hi there"},
		{"controls dropped", "a\x00b\x1bc\x7fd\u0085e\tf", false, "abcde f"},
		{"invalid utf-8 replaced", "ok\xffok", false, "ok\uFFFDok"},
		{"exactly the limit", long[:2*maxBodyRunes], false, long[:2*maxBodyRunes]},
		{"cut on a rune boundary", long, false, long[:2*maxBodyRunes] + "…"},
		{"cut at a line", "1\n2\n3\n4\n5\n6\n7\n8", false, "1\n2\n3\n4\n5\n6…"},
		{"cut drops trailing space", strings.Repeat("x", maxBodyRunes-1) + " tail", false, strings.Repeat("x", maxBodyRunes-1) + "…"},
		{"markup escaped", `<b>x</b> & <img src=x onerror="alert(1)">`, true, `&lt;b&gt;x&lt;/b&gt; &amp; &lt;img src=x onerror="alert(1)"&gt;`},
		{"entities escaped", "&lt; is <", true, "&amp;lt; is &lt;"},
		{"no markup, as typed", `<b>x</b> & <img src=x>`, false, `<b>x</b> & <img src=x>`},
		{"escaped after cutting", strings.Repeat("x", maxBodyRunes-1) + "<<<", true, strings.Repeat("x", maxBodyRunes-1) + "&lt;…"},
	} {
		got := body(c.text, c.markup)
		if got != c.want {
			t.Errorf("%s: body(%q) = %q, want %q", c.name, c.text, got, c.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("%s: body is not valid UTF-8: %q", c.name, got)
		}
	}
}

func FuzzBody(f *testing.F) {
	for _, s := range []string{"hello", "<b>x</b>", "a\nb", strings.Repeat("ü\n", 300), "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, markup := range []bool{false, true} {
			b := body(text, markup)
			if !utf8.ValidString(b) || strings.ContainsRune(b, 0) {
				t.Fatalf("body(%q) = %q: not a valid D-Bus string", text, b)
			}
			if n := utf8.RuneCountInString(strings.TrimSuffix(b, ellipsis)); !markup && n > maxBodyRunes {
				t.Fatalf("body(%q) has %d runes", text, n)
			}
			if markup && strings.ContainsAny(b, "<>") {
				t.Fatalf("body(%q) = %q keeps markup", text, b)
			}
		}
	})
}
