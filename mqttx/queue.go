package mqttx

import (
	"sync/atomic"

	"github.com/sunoye/sunoye/rooms"
)

// queue holds the packets between Paho's message callback, which runs on
// Paho's router goroutine, and the goroutine that calls Deliver. It is
// bounded in packets and in payload bytes; when it is full, put waits:
// nothing is dropped. The wait holds up Paho's router, so Paho stops
// reading the connection and the broker stops sending — it holds at most
// its window of unacknowledged messages towards us (mosquitto's
// max_inflight_messages), and nothing is acknowledged before Deliver has
// handled it. A flood costs the broker its queue, not us memory.
type queue struct {
	ch       chan item
	bytes    atomic.Int64
	maxBytes int64
	// room has a token when a packet has left the queue: put waits on it
	// while the byte bound is reached.
	room chan struct{}
	// waits counts the puts that had to wait (back-pressure episodes).
	waits atomic.Uint64
}

// item is a packet and what acknowledges it to the broker.
type item struct {
	p   rooms.Packet
	ack func()
}

func newQueue(n, maxBytes int) *queue {
	return &queue{ch: make(chan item, n), maxBytes: int64(maxBytes), room: make(chan struct{}, 1)}
}

// size is what a packet counts against the byte bound.
func size(p rooms.Packet) int64 { return int64(len(p.Payload) + len(p.Topic)) }

// put queues it, waiting while the queue is full, until done is closed. It
// reports false if done closed first: the packet was not queued (and is
// not acknowledged: the broker sends it again to the next session).
func (q *queue) put(it item, done <-chan struct{}) bool {
	n := size(it.p)
	waited := false
	wait := func() {
		if !waited {
			waited = true
			q.waits.Add(1)
		}
	}
	// A packet larger than the byte bound still goes into an empty queue.
	for q.bytes.Load()+n > q.maxBytes && len(q.ch) > 0 {
		wait()
		select {
		case <-q.room:
		case <-done:
			return false
		}
	}
	q.bytes.Add(n)
	select {
	case q.ch <- it:
	default:
		wait()
		select {
		case q.ch <- it:
		case <-done:
			q.bytes.Add(-n)
			return false
		}
	}
	return true
}

// taken accounts for it having left the queue.
func (q *queue) taken(it item) {
	q.bytes.Add(-size(it.p))
	select {
	case q.room <- struct{}{}:
	default:
	}
}
