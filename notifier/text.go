package notifier

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/sunoye/sunoye/rooms"
)

// Limits of what a notification shows. A notification is a glimpse: the
// whole message is one click away, in the chat window.
const (
	maxBodyRunes = 200
	maxBodyLines = 6
	maxNameRunes = 64
	ellipsis     = "…"
)

// summary is a notification's title: who wrote in which room, whether the
// message mentions the user, and, when the notification stands for more
// than one message, how many.
func summary(sender string, room rooms.ID, count int, mention bool) string {
	name, _ := cut(oneLine(sender), maxNameRunes, 1)
	if name == "" {
		name = "Someone"
	}
	if mention {
		name += " mentioned you"
	}
	s := name + " · room " + string(room)
	if count > 1 {
		s += fmt.Sprintf(" (%d new)", count)
	}
	return s
}

// body is a notification's text: the message, cleaned of control
// characters, cut to a few lines, and escaped if the server would read it
// as markup — a message "<b>x</b>" must show as typed.
func body(text string, markup bool) string {
	b, _ := cut(clean(text), maxBodyRunes, maxBodyLines)
	if markup {
		b = escapeMarkup(b)
	}
	return b
}

// clean normalises line breaks to \n, turns tabs into spaces, drops other
// control characters, which the sender may have put there to garble the
// notification, and trims surrounding space. Its result is valid UTF-8
// (strings.Map turns invalid bytes into U+FFFD): the bus disconnects a
// client that sends anything else.
func clean(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\r':
			return '\n'
		case r == '\t':
			return ' '
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// oneLine is clean with line breaks turned into spaces, for titles.
func oneLine(s string) string {
	return strings.ReplaceAll(clean(s), "\n", " ")
}

// cut shortens s to at most maxRunes runes and maxLines lines, on rune
// boundaries, ending what it cut with an ellipsis. It reports whether it
// cut.
func cut(s string, maxRunes, maxLines int) (string, bool) {
	runes, lines := 0, 1
	for i, r := range s {
		if r == '\n' {
			lines++
		}
		if runes == maxRunes || lines > maxLines {
			return strings.TrimRightFunc(s[:i], unicode.IsSpace) + ellipsis, true
		}
		runes++
	}
	return s, false
}

// markupEscaper escapes what the notification markup (a small subset of
// XML) gives a meaning: elements and entities.
var markupEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func escapeMarkup(s string) string { return markupEscaper.Replace(s) }
