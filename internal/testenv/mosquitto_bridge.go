package testenv

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// bridge is a bridge connection from one broker to another.
type bridge struct {
	peer  *Mosquitto
	topic string // the topic filter bridged both ways
}

// StartMosquittoBridge starts a second private broker that bridges topic
// (a filter ending in "#", such as "sunoye/v1/#") both ways, QoS 1, with
// peer: a message published on either broker reaches the subscribers of
// both, retained messages (and Last Wills) included. It is the simplest
// form of more than one broker serving one set of topics, as a cluster's
// nodes do. It returns once a message published on peer crosses to the new
// broker. Both brokers must be plain (no TLS).
func StartMosquittoBridge(t testing.TB, peer *Mosquitto, topic string) *Mosquitto {
	t.Helper()
	prefix, ok := strings.CutSuffix(topic, "#")
	if !ok {
		t.Fatalf("testenv: StartMosquittoBridge: topic %q does not end in #", topic)
	}
	pub := NeedBinary(t, "mosquitto_pub", "mosquitto-clients")
	sub := NeedBinary(t, "mosquitto_sub", "mosquitto-clients")
	m := &Mosquitto{bridge: &bridge{peer: peer, topic: topic}}
	m.init(t, nil)
	if err := m.waitBridged(pub, sub, prefix+"testenv-bridge-probe"); err != nil {
		t.Fatalf("testenv: the bridge from %s to %s: %v", m.Addr(), peer.Addr(), err)
	}
	return m
}

// waitBridged publishes on the peer, every 100 ms, until a subscriber on m
// has received one of the messages: then the bridge is connected and
// subscribed on the peer.
func (m *Mosquitto) waitBridged(pub, sub, probe string) error {
	recv := exec.Command(sub, "-h", "127.0.0.1", "-p", fmt.Sprint(m.port), "-t", probe, "-C", "1", "-W", fmt.Sprint(int(readyTimeout.Seconds())))
	if err := recv.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- recv.Wait() }()
	for {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("no message crossed it within %v (mosquitto_sub: %w)", readyTimeout, err)
			}
			return nil
		case <-time.After(100 * time.Millisecond):
			out, err := exec.Command(pub, "-h", "127.0.0.1", "-p", fmt.Sprint(m.bridge.peer.port), "-t", probe, "-q", "1", "-m", "probe").CombinedOutput()
			if err != nil {
				recv.Process.Kill()
				<-done
				return errors.New("mosquitto_pub to the peer: " + err.Error() + ": " + string(out))
			}
		}
	}
}

// writeBridge writes the bridge section of mosquitto.conf, if any. It
// comes last: every line after "connection" belongs to the bridge.
func (m *Mosquitto) writeBridge(b *strings.Builder) {
	if m.bridge == nil {
		return
	}
	fmt.Fprintf(b, "\nconnection peer\naddress %s\n", m.bridge.peer.Addr())
	fmt.Fprintf(b, "topic %s both 1\n", m.bridge.topic)
	// The client id on the peer: one per bridge, so that two brokers
	// bridged to one peer do not take over each other's session.
	fmt.Fprintf(b, "remote_clientid testenv-bridge-%d\n", m.port)
	// try_private tells the peer (a mosquitto) that this is a bridge, so
	// that it does not send a bridged message back where it came from.
	b.WriteString("bridge_protocol_version mqttv311\ntry_private true\n")
	b.WriteString("cleansession false\nnotifications false\nrestart_timeout 1\n")
}
