package mqttx

import (
	"fmt"
	"slices"
	"testing"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

// Paho resends the messages of a lost connection in the order the store
// lists them: it must be the order they were stored in.
func TestStoreKeepsOrder(t *testing.T) {
	s := newStore()
	var want []string
	for i := range 200 {
		k := fmt.Sprintf("o.%d", (i*7919)%65535+1) // ids in no particular order
		s.Put(k, packets.NewControlPacket(packets.Publish))
		want = append(want, k)
	}
	if got := s.All(); !slices.Equal(got, want) {
		t.Fatalf("All() is not in storing order: %v…", got[:5])
	}
	gone, ok := s.outgoing(7920 % 65535)
	if !ok {
		t.Fatal("no waiter for a stored outgoing message")
	}
	s.Del("o.7920")
	select {
	case <-gone:
	default:
		t.Error("deleting (the broker's acknowledgement) did not signal the waiter")
	}
}
