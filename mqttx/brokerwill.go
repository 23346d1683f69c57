package mqttx

import (
	"bytes"
	"crypto/rand"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// emptyWill makes the embedded broker accept a Will with an empty payload,
// which SunOye's sessions use (published retained, it clears the member's
// retained presence). MQTT allows it (3.1.1 section 3.1.3.3 and 5.0
// 3.1.3.4 let the Will Message be zero bytes long), but Mochi 2.7.9
// rejects such a CONNECT as a protocol violation — with a CONNACK code
// that MQTT 3.1.1 lacks, which Paho 1.5.1 mistakes for success.
//
// The hook swaps the empty payload for a placeholder before Mochi
// validates the CONNECT, and swaps it back when the Will is published. It
// keeps no state per client: a CONNECT that Mochi then refuses never
// reaches a disconnect hook, and state kept for it would never be freed.
type emptyWill struct {
	mochi.HookBase
}

// willPlaceholder stands in for an empty Will payload inside the broker.
// It is random, per process, so that no client can send a Will that is
// taken for it.
var willPlaceholder = func() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}()

func (*emptyWill) ID() string { return "sunoye-empty-will" }

func (*emptyWill) Provides(b byte) bool {
	return b == mochi.OnPacketRead || b == mochi.OnWill
}

func (*emptyWill) OnPacketRead(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	if pk.FixedHeader.Type == packets.Connect && pk.Connect.WillFlag && len(pk.Connect.WillPayload) == 0 {
		pk.Connect.WillPayload = willPlaceholder
	}
	return pk, nil
}

func (*emptyWill) OnWill(cl *mochi.Client, will mochi.Will) (mochi.Will, error) {
	if bytes.Equal(will.Payload, willPlaceholder) {
		will.Payload = nil
	}
	return will, nil
}
