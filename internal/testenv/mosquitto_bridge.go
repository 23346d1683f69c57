package testenv

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// bridgeClientID is the client id a bridged broker uses on its peer; the
// peer's log names it when the bridge is connected.
const bridgeClientID = "sunoye-test-bridge"

// bridge is a bridge connection from one broker to another.
type bridge struct {
	peer  *Mosquitto
	topic string // the topic filter bridged both ways
}

// StartMosquittoBridge starts a second private broker that bridges topic
// (a filter such as "sunoye/v1/#") both ways, QoS 1, with peer: a
// message published on either broker reaches the subscribers of both,
// retained messages (and Last Wills) included. It is the simplest form of
// more than one broker serving one set of topics, as a cluster's nodes do.
// It returns once the bridge is connected. Both brokers must be plain
// (no TLS).
func StartMosquittoBridge(t testing.TB, peer *Mosquitto, topic string) *Mosquitto {
	t.Helper()
	m := &Mosquitto{bridge: &bridge{peer: peer, topic: topic}}
	m.init(t, nil)
	// Until the bridge has subscribed on the peer, a message published
	// there would not cross it.
	deadline := time.Now().Add(readyTimeout)
	for !peer.logged("as " + bridgeClientID) {
		if time.Now().After(deadline) {
			t.Fatalf("testenv: the bridge from %s to %s did not connect within %v", m.Addr(), peer.Addr(), readyTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return m
}

// logged reports whether the running broker has logged s since it started.
func (m *Mosquitto) logged(s string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.proc != nil && bytes.Contains(m.proc.logSinceStart(), []byte(s))
}

// writeBridge writes the bridge section of mosquitto.conf, if any. It
// comes last: every line after "connection" belongs to the bridge.
func (m *Mosquitto) writeBridge(b *strings.Builder) {
	if m.bridge == nil {
		return
	}
	fmt.Fprintf(b, "\nconnection peer\naddress %s\n", m.bridge.peer.Addr())
	fmt.Fprintf(b, "topic %s both 1\n", m.bridge.topic)
	fmt.Fprintf(b, "remote_clientid %s\n", bridgeClientID)
	// try_private tells the peer (a mosquitto) that this is a bridge, so
	// that it does not send a bridged message back where it came from.
	b.WriteString("bridge_protocol_version mqttv311\ntry_private true\n")
	b.WriteString("cleansession false\nnotifications false\nrestart_timeout 1\n")
}
