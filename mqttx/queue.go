package mqttx

import (
	"sync/atomic"

	"github.com/sunoye/sunoye/rooms"
)

// queue holds the packets between Paho's message callback, which must never
// block (it runs on Paho's router goroutine, and a blocked router stalls
// acknowledgements, pings and so the whole connection), and the goroutine
// that calls Deliver. It is bounded in packets and in payload bytes: a
// flood is dropped and counted rather than buffered without bound.
type queue struct {
	ch       chan rooms.Packet
	bytes    atomic.Int64
	maxBytes int64
	dropped  atomic.Uint64
	// dropping is set by the first drop of an episode and cleared when the
	// queue runs empty, so that an episode is logged once, not per packet.
	dropping atomic.Bool
}

func newQueue(n, maxBytes int) *queue {
	return &queue{ch: make(chan rooms.Packet, n), maxBytes: int64(maxBytes)}
}

// size is what a packet counts against the byte bound.
func size(p rooms.Packet) int64 { return int64(len(p.Payload) + len(p.Topic)) }

// offer queues p without blocking. It reports false if p was dropped, and
// first is true for the first drop of an episode.
func (q *queue) offer(p rooms.Packet) (ok, first bool) {
	n := size(p)
	if q.bytes.Add(n) <= q.maxBytes {
		select {
		case q.ch <- p:
			return true, false
		default:
		}
	}
	q.bytes.Add(-n)
	q.dropped.Add(1)
	return false, !q.dropping.Swap(true)
}

// taken accounts for p having left the queue.
func (q *queue) taken(p rooms.Packet) {
	q.bytes.Add(-size(p))
	if len(q.ch) == 0 {
		q.dropping.Store(false)
	}
}
