package mqttx

import (
	"testing"
	"time"
)

// A session given a list of brokers connects to the first that answers,
// and when that one goes away, moves to the next by itself: it subscribes
// there again and gets what is published there. (Two separate brokers
// here, so the session starts afresh on the second; on a cluster it would
// be resumed, see cmd/sunoye's TestBrokerNodeFailover.)
func TestBrokerListFailover(t *testing.T) {
	a, b := startEmbedded(t), startEmbedded(t)
	room := unique("room/")
	cfg := testConfig(a.URL() + ", " + b.URL())
	cfg.MaxReconnectInterval = time.Second
	tr := newTransport(t, cfg)
	if err := tr.Ping(ctx(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	alice := open(t, tr, unique("alice-"), []string{room + "/#"})
	mustEqual(t, "node", alice.Session.(*session).Node(), a.URL())

	a.Stop(t)
	eventually(t, "alice to reconnect, on the second broker", func() bool {
		c, _ := alice.counts()
		return c == 2 && alice.Connected()
	})
	mustEqual(t, "node after the first broker stopped", alice.Session.(*session).Node(), b.URL())
	bob := open(t, newTransport(t, testConfig(b.URL())), unique("bob-"), []string{room + "/#"})
	publish(t, bob, room+"/to-alice", "after the move", false)
	alice.waitTopic(t, room+"/to-alice")
	publish(t, alice, room+"/from-alice", "after the move", false)
	bob.waitTopic(t, room+"/from-alice")

	// A list whose first node is down from the start: the second answers.
	late := open(t, newTransport(t, testConfig(a.URL()+","+b.URL())), unique("carol-"), []string{room + "/#"})
	mustEqual(t, "node of a session opened while the first was down", late.Session.(*session).Node(), b.URL())
	if err := newTransport(t, testConfig(a.URL()+","+b.URL())).Ping(ctx(t)); err != nil {
		t.Errorf("Ping with the first node down: %v", err)
	}
}
