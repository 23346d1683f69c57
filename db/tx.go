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
// again would not cure, ctx ends, or maxAttempts. Between attempts after a
// deadlock it waits a random, growing while, so that the transactions
// that collided do not collide again.
//
// On a registry of several hosts, each attempt has its own deadline
// (attemptTimeout, and at most half of what is left of ctx while another
// host remains), and an attempt that failed with its node (isNodeFailure:
// it was dead, frozen, or not ready) is made again at once on another, up
// to once per other host. fn must therefore be safe to run twice when its
// first run's outcome is unknown: every procedure is one transaction that
// takes or renews a lease as often as it runs (put_lease), reads, or
// deletes; Create tells its own room from another's.
func (r *Registry) retry(ctx context.Context, fn func(ctx context.Context) error) error {
	backoff := 2 * time.Millisecond
	failovers := r.failovers
	for attempt := 1; ; attempt++ {
		actx, cancel := r.attemptContext(ctx, failovers)
		err := fn(actx)
		cancel()
		switch {
		case err == nil:
			return nil
		case failovers > 0 && ctx.Err() == nil && r.dialect.isNodeFailure(err):
			failovers--
			continue // the failover has left the node; the next attempt goes to another
		case attempt >= maxAttempts || !r.dialect.isRetryable(err):
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

// attemptContext returns the context of one attempt of a call: ctx itself
// on a registry of one host, which has nowhere else to go; on several,
// one that ends after attemptTimeout, or after half of what is left of ctx
// if failovers other hosts remain, so that a frozen node leaves time to
// try another.
func (r *Registry) attemptContext(ctx context.Context, failovers int) (context.Context, context.CancelFunc) {
	if r.failovers == 0 {
		return ctx, func() {}
	}
	d := attemptTimeout
	if deadline, ok := ctx.Deadline(); ok && failovers > 0 {
		d = min(d, time.Until(deadline)/2)
	}
	return context.WithTimeout(ctx, d)
}
