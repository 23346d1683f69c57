package rooms

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// invitePrefix starts an invite link: sunoye://join/ROOM#PASSWORD. The
// password sits in the fragment, which a browser never sends anywhere,
// should the link be clicked.
const invitePrefix = "sunoye://join/"

// ErrBadInvite means a text holds no usable invite.
var ErrBadInvite = errors.New("no SunOye invite in the text")

// Link returns the invite as a link: sunoye://join/482913057#tide-amber-….
func (inv Invite) Link() string {
	return invitePrefix + string(inv.Room) + "#" + url.PathEscape(inv.Password)
}

// String is the text to share — what Copy invite puts on the clipboard,
// in the tray and in the chat window: readable on its own, with the link
// for pasting into `sunoye join`.
func (inv Invite) String() string {
	return fmt.Sprintf("Join my SunOye room %s with the password %s\n%s", inv.Room, inv.Password, inv.Link())
}

// ParseInvite finds an invite link in text (a chat message, an e-mail)
// and returns the room and password in it.
func ParseInvite(text string) (Invite, error) {
	i := strings.Index(text, invitePrefix)
	if i < 0 {
		return Invite{}, ErrBadInvite
	}
	link := text[i+len(invitePrefix):]
	if j := strings.IndexAny(link, " \t\r\n\"'<>"); j >= 0 {
		link = link[:j]
	}
	room, frag, ok := strings.Cut(link, "#")
	if !ok {
		return Invite{}, fmt.Errorf("%w: the link has no password", ErrBadInvite)
	}
	id, err := ParseID(room)
	if err != nil {
		return Invite{}, fmt.Errorf("%w: %w", ErrBadInvite, err)
	}
	password, err := url.PathUnescape(frag)
	if err != nil {
		return Invite{}, fmt.Errorf("%w: the password is garbled", ErrBadInvite)
	}
	if err := CheckPassword(password); err != nil {
		return Invite{}, fmt.Errorf("%w: %w", ErrBadInvite, err)
	}
	return Invite{Room: id, Password: password}, nil
}
