package tray

import (
	"context"
	"log/slog"
)

// queueLen bounds the clicks waiting for their work to be done. A person
// cannot click faster than that while the work is stuck; if they do, the
// extra clicks are dropped and logged rather than blocking the receiver.
const queueLen = 32

// queue runs work in the order it was queued, one at a time, on its own
// goroutine, so that click receivers return at once and slow work (leaving
// a room while the broker is away) does not reorder or lose clicks.
type queue struct {
	name string
	log  *slog.Logger
	ch   chan func(context.Context)
}

func newQueue(name string, log *slog.Logger) *queue {
	return &queue{name: name, log: log, ch: make(chan func(context.Context), queueLen)}
}

// add queues f without blocking.
func (q *queue) add(f func(context.Context)) {
	select {
	case q.ch <- f:
	default:
		q.log.Warn("tray: click dropped, earlier clicks still being handled", "queue", q.name)
	}
}

// run does the queued work until ctx ends.
func (q *queue) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-q.ch:
			f(ctx)
		}
	}
}
