package rooms

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// NotifyLevel says which of a room's messages notify: every message, only
// those that mention this member, or none (muted).
type NotifyLevel string

// Notification levels.
const (
	NotifyAll      NotifyLevel = "all"
	NotifyMentions NotifyLevel = "mentions"
	NotifyNone     NotifyLevel = "none"
)

// ParseNotifyLevel reads "all", "mentions" or "none".
func ParseNotifyLevel(s string) (NotifyLevel, error) {
	switch l := NotifyLevel(s); l {
	case NotifyAll, NotifyMentions, NotifyNone:
		return l, nil
	}
	return "", fmt.Errorf("%w: notification level %q: use all, mentions or none", ErrInvalid, s)
}

// notifies reports whether a message of another member notifies at this
// level; mention says whether it mentions this member.
func (l NotifyLevel) notifies(mention bool) bool {
	switch l {
	case NotifyNone:
		return false
	case NotifyMentions:
		return mention
	}
	return true
}

// MentionRoom mentions every member of a room.
const MentionRoom = "room"

// Mentions reports whether text mentions the member named name: "@name"
// (case-insensitive; a name may hold spaces, "@Asha Rao") or "@room". An
// "@" counts only at the start of the text or after a character that is
// no letter or digit (bob@asha.example mentions nobody), and a name only
// if no letter or digit follows it ("@Ashanti" does not mention Asha).
// others are the names of the room's other members: where several names
// fit, the longest is meant ("@Asha Rao" mentions Asha Rao, not Asha).
// The chat window highlights by the same rules (assets/links.js).
func Mentions(text, name string, others ...string) bool {
	for i := 0; i < len(text); i++ {
		if text[i] != '@' {
			continue
		}
		if i > 0 {
			prev, _ := utf8.DecodeLastRuneInString(text[:i])
			if wordRune(prev) {
				continue
			}
		}
		rest := text[i+1:]
		meant := -1 // bytes of the longest name that fits
		me := false
		for k, n := range append([]string{MentionRoom, name}, others...) {
			if end, ok := namePrefix(rest, n); ok && end > meant {
				meant, me = end, k < 2
			} else if ok && end == meant && k < 2 {
				me = true
			}
		}
		if me {
			return true
		}
	}
	return false
}

// namePrefix reports whether s starts with name, case folded, and no
// letter or digit follows, and where the name ends in s.
func namePrefix(s, name string) (int, bool) {
	if name == "" {
		return 0, false
	}
	n := utf8.RuneCountInString(name)
	end := 0
	for k := 0; k < n; k++ {
		if end >= len(s) {
			return 0, false
		}
		_, size := utf8.DecodeRuneInString(s[end:])
		end += size
	}
	if !strings.EqualFold(s[:end], name) {
		return 0, false
	}
	next, _ := utf8.DecodeRuneInString(s[end:])
	return end, end == len(s) || !wordRune(next)
}

func wordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' }
