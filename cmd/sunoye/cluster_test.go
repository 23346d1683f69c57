package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
)

// Members on different brokers that share the room topics — here two
// mosquittos bridged on sunoye/v1/#, as docs/scaling.md describes, the
// simplest stand-in for the nodes of a clustered broker — chat as if on
// one: messages cross both ways, each sees the other's presence (retained
// messages cross too), and a member killed on one broker drops from the
// list on the other (its Last Will crosses).
func TestChatAcrossBridgedBrokers(t *testing.T) {
	a := testenv.StartMosquitto(t)
	b := testenv.StartMosquittoBridge(t, a, "sunoye/v1/#")
	db := testenv.MariaDB(t)
	asha := testenv.StartDaemon(t, testenv.DaemonConfig{Broker: a.URL(), DB: db, Name: "Asha"})
	bilal := testenv.StartDaemon(t, testenv.DaemonConfig{Broker: b.URL(), DB: db, Name: "Bilal"})

	inv := create(t, asha)
	must(t, bilal, "join", inv.Room, "--password", inv.Password)
	must(t, bilal, "send", inv.Room, "from broker B")
	// History is in order of arrival: Asha answers once she has it.
	waitHistory(t, asha, inv.Room, "Bilal: from broker B")
	must(t, asha, "send", inv.Room, "from broker A")
	for _, d := range []*testenv.Daemon{asha, bilal} {
		waitHistory(t, d, inv.Room, "Bilal: from broker B", "Asha: from broker A")
		eventually(t, 10*time.Second, func() error {
			if r, _ := findRoom(roomsJSON(t, d), inv.Room); r.Members != 2 {
				return fmt.Errorf("%d members listed, want 2", r.Members)
			}
			return nil
		})
	}

	bilal.Kill(t)
	eventually(t, 5*time.Second, func() error {
		if r, _ := findRoom(roomsJSON(t, asha), inv.Room); r.Members != 1 {
			return fmt.Errorf("Asha still sees %d members after Bilal was killed on the other broker", r.Members)
		}
		return nil
	})
}
