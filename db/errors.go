package db

import (
	"errors"
	"fmt"

	"github.com/sunoye/sunoye/rooms"
)

// ErrUnreachable is matched (errors.Is) by the errors of a registry that
// could not be reached: the database server is down, the network is, or
// the connection broke. These errors match rooms.ErrUnavailable too, which
// is what the Service looks for.
var ErrUnreachable = errors.New("registry unreachable")

// unreachableError is a connection failure, naming the registry.
type unreachableError struct {
	where string
	err   error
}

func (e *unreachableError) Error() string {
	return "registry " + e.where + ": unreachable: " + e.err.Error()
}

func (e *unreachableError) Unwrap() error { return e.err }

func (e *unreachableError) Is(target error) bool {
	return target == ErrUnreachable || target == rooms.ErrUnavailable
}

// wrapErr names the registry in an error from the database: a connection
// error becomes an unreachable error, anything else is prefixed with the
// registry. The domain errors of package rooms pass unchanged, and so does
// nil.
func (r *Registry) wrapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case isDomain(err):
		return err
	case r.dialect.isConnErr(err), r.failovers > 0 && r.dialect.isNodeFailure(err):
		// On several hosts, a call that timed out did so on each it
		// tried: none of them answered in time.
		return &unreachableError{where: r.where, err: err}
	default:
		return fmt.Errorf("registry %s: %w", r.where, err)
	}
}
