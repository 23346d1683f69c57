package mqttx

import (
	"strings"
	"testing"

	"github.com/sunoye/sunoye/rooms"
)

func TestQueueBounds(t *testing.T) {
	pk := func(n int) rooms.Packet { return rooms.Packet{Topic: "t", Payload: []byte(strings.Repeat("x", n-1))} }
	tests := []struct {
		name        string
		len, bytes  int
		sizes       []int // sizes offered, topic included
		wantQueued  int
		wantDropped uint64
	}{
		{"fits", 4, 100, []int{10, 10, 10}, 3, 0},
		{"count bound", 2, 100, []int{1, 1, 1, 1}, 2, 2},
		{"byte bound", 10, 25, []int{10, 10, 10, 5}, 3, 1},
		{"larger than the byte bound", 10, 25, []int{26, 25}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newQueue(tt.len, tt.bytes)
			firsts := 0
			for _, n := range tt.sizes {
				if ok, first := q.offer(pk(n)); !ok && first {
					firsts++
				}
			}
			if got := len(q.ch); got != tt.wantQueued {
				t.Errorf("queued %d, want %d", got, tt.wantQueued)
			}
			if got := q.dropped.Load(); got != tt.wantDropped {
				t.Errorf("dropped %d, want %d", got, tt.wantDropped)
			}
			if tt.wantDropped > 0 && firsts != 1 {
				t.Errorf("%d drops reported as first of an episode, want 1", firsts)
			}
			for len(q.ch) > 0 {
				q.taken(<-q.ch)
			}
			if q.bytes.Load() != 0 || q.dropping.Load() {
				t.Errorf("after draining: bytes %d, dropping %v; want 0, false", q.bytes.Load(), q.dropping.Load())
			}
		})
	}
}
