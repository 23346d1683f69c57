package main

import (
	"errors"

	"github.com/sunoye/sunoye/db"
	"github.com/sunoye/sunoye/mqttx"
	"github.com/sunoye/sunoye/rooms"
	"github.com/sunoye/sunoye/web"
)

// Exit codes: scripts tell failures apart by them (README, "Exit codes").
const (
	exitError        = 1 // anything else
	exitUsage        = 2 // bad flags or arguments, bad room number, short or guessable password, empty or too long message
	exitNoDaemon     = 3 // no daemon runs for the state directory
	exitNoSuchRoom   = 4
	exitWrongPass    = 5
	exitRoomInactive = 6
	exitNotJoined    = 7
	exitUnavailable  = 8  // the broker or the registry cannot be reached
	exitLocked       = 9  // another daemon holds the state directory
	exitTooMany      = 10 // several wrong passwords in a row: wait and try again
)

// usageError marks errors in how a command was called.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// errLocked marks a second daemon on one state directory.
var errLocked = errors.New("state directory in use")

func exitCode(err error) int {
	var api *web.APIError
	if errors.As(err, &api) {
		switch api.Code {
		case web.CodeBadRequest, web.CodeWeakPassword, web.CodeTooLarge:
			return exitUsage
		case web.CodeNoSuchRoom:
			return exitNoSuchRoom
		case web.CodeWrongPass:
			return exitWrongPass
		case web.CodeTooManyAttempts:
			return exitTooMany
		case web.CodeRoomInactive:
			return exitRoomInactive
		case web.CodeNotJoined:
			return exitNotJoined
		case web.CodeUnavailable:
			return exitUnavailable
		}
		return exitError
	}
	var ue usageError
	switch {
	case errors.As(err, &ue), errors.Is(err, db.ErrBadDSN), errors.Is(err, mqttx.ErrBadURL), errors.Is(err, rooms.ErrBadRoomNumber), errors.Is(err, rooms.ErrTooLong), errors.Is(err, rooms.ErrTooLarge),
		errors.Is(err, rooms.ErrEmpty), errors.Is(err, rooms.ErrWeakPassword), errors.Is(err, rooms.ErrInvalid):
		return exitUsage
	case errors.Is(err, web.ErrNoDaemon):
		return exitNoDaemon
	case errors.Is(err, rooms.ErrUnavailable):
		return exitUnavailable
	case errors.Is(err, errLocked):
		return exitLocked
	}
	return exitError
}
