package db

import (
	"context"
	"math/rand/v2"
	"time"
)

// maxAttempts bounds how often an operation is run again after a deadlock
// or a busy database. Contention here is a handful of daemons joining the
// same room at once; a few attempts settle it.
const maxAttempts = 12

// retry runs fn until it succeeds, fails with an error that running it
// again would not cure, ctx ends, or maxAttempts. Between attempts it
// waits a random, growing while, so that the transactions that collided
// do not collide again.
func (r *Registry) retry(ctx context.Context, fn func() error) error {
	backoff := 2 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || attempt == maxAttempts || !r.dialect.isRetryable(err) {
			return err
		}
		t := time.NewTimer(rand.N(backoff) + time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		backoff = min(2*backoff, 250*time.Millisecond)
	}
}
