package mqttx

import (
	"strings"
	"testing"
	"time"

	"github.com/sunoye/sunoye/rooms"
)

// A full queue makes put wait, never drop; taking a packet out lets the
// next one in, and a closed session ends the wait without queueing.
func TestQueueWaitsWhenFull(t *testing.T) {
	pk := func(n int) item { return item{p: rooms.Packet{Topic: "t", Payload: []byte(strings.Repeat("x", n-1))}} }
	for _, tt := range []struct {
		name       string
		len, bytes int
		sizes      []int // the last one must wait
	}{
		{"count bound", 2, 100, []int{1, 1, 1}},
		{"byte bound", 10, 25, []int{10, 10, 10}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := newQueue(tt.len, tt.bytes)
			done := make(chan struct{})
			for _, n := range tt.sizes[:len(tt.sizes)-1] {
				if !q.put(pk(n), done) {
					t.Fatal("put refused with room left")
				}
			}
			put := make(chan bool)
			go func() { put <- q.put(pk(tt.sizes[len(tt.sizes)-1]), done) }()
			select {
			case <-put:
				t.Fatal("put did not wait on a full queue")
			case <-time.After(50 * time.Millisecond): // it is still waiting
			}
			q.taken(<-q.ch)
			if !<-put {
				t.Fatal("put refused after a packet left")
			}
			// Full again: a put waits until the session ends.
			go func() { put <- q.put(pk(tt.sizes[len(tt.sizes)-1]), done) }()
			close(done)
			if <-put {
				t.Error("put queued after done")
			}
			if q.waits.Load() == 0 {
				t.Error("no wait counted")
			}
		})
	}
	// A packet larger than the byte bound goes into an empty queue.
	q := newQueue(4, 10)
	if !q.put(pk(50), make(chan struct{})) {
		t.Error("an oversized packet was refused by an empty queue")
	}
}
