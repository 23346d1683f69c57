package notifier

import (
	"strings"

	"github.com/sunoye/sunoye/rooms"
)

// A Windows toast carries what its click means as its activation
// arguments, which Windows hands back to the daemon's activation callback:
// "open:ROOM" for the toast itself, "reply:ROOM" for its Reply button,
// with the typed text as the user input replyInput. The format is this
// package's own, kept apart from the platform so it is tested anywhere.
const (
	openArgs   = "open:"
	replyArgs  = "reply:"
	replyInput = "reply"
)

// activation is what a toast's activation asks for.
type activation struct {
	room  rooms.ID
	reply bool
	text  string // the reply's text
}

// parseActivation reads a toast's activation arguments and inputs (name,
// value pairs); ok is false for anything not made by toastFor, or a reply
// with nothing typed. Windows passes back what the toast carried, but any
// program of the user's could activate the callback: the room id is
// checked, and the caller acts only on rooms it has.
func parseActivation(args string, inputs map[string]string) (a activation, ok bool) {
	var id string
	switch {
	case strings.HasPrefix(args, openArgs):
		id = args[len(openArgs):]
	case strings.HasPrefix(args, replyArgs):
		id, a.reply = args[len(replyArgs):], true
		a.text = strings.TrimSpace(inputs[replyInput])
		if a.text == "" {
			return activation{}, false
		}
	default:
		return activation{}, false
	}
	room, err := rooms.ParseID(id)
	if err != nil {
		return activation{}, false
	}
	a.room = room
	return a, true
}
