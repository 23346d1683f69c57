package rooms

import "time"

// FailedJoins is a room's record of wrong passwords in a row: how many,
// the last one, and until when attempts are refused. An AttemptStore
// keeps it across restarts.
type FailedJoins struct {
	Room  ID        `json:"room"`
	Count int       `json:"count"`
	Last  time.Time `json:"last"`
	Until time.Time `json:"until,omitzero"`
}

// AttemptStore keeps the records of wrong passwords across restarts, so
// that restarting the daemon does not end a pause (Config.Attempts).
type AttemptStore interface {
	// FailedJoins returns the records saved last.
	FailedJoins() []FailedJoins
	// SaveFailedJoins replaces the saved records. It is called after
	// each wrong password, and after a right one that ends a record.
	SaveFailedJoins([]FailedJoins) error
}
