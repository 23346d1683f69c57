package mqttx

import (
	"bytes"
	"context"
	"errors"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sunoye/sunoye/rooms"
)

func TestOpenContext(t *testing.T) {
	// A listener that never accepts: the kernel completes the TCP
	// handshake, and the CONNECT goes unanswered.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tr := newTransport(t, testConfig("tcp://"+ln.Addr().String()))
	c, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = tr.Open(c, sessionConfig())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Open = %v, want DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), "broker tcp://"+ln.Addr().String()) {
		t.Errorf("error %q does not name the broker", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Open returned %v after its context ended", d)
	}
}

// TestBlip cuts the network under a session: it reconnects by itself, and
// thanks to the persistent session nothing published meanwhile, by it or
// to it, is lost.
func TestBlip(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b testBroker) {
		room := unique("room/")
		p := startProxy(t, b.Addr())
		cfg := testConfig("tcp://" + p.Addr())
		cfg.KeepAlive = time.Second // in case the cut goes unnoticed
		alice := open(t, newTransport(t, cfg), unique("alice-"), []string{room + "/#"})
		bob := open(t, newTransport(t, testConfig(b.URL())), unique("bob-"), []string{room + "/#"})

		p.Cut()
		eventually(t, "alice to notice the cut", func() bool { return !alice.Connected() })
		publish(t, bob, room+"/to-alice", "while cut", false)
		flush(t, bob, room) // before alice's session is taken over by her reconnection
		sent := make(chan error, 1)
		go func() {
			sent <- alice.Publish(ctx(t), rooms.Packet{Topic: room + "/from-alice", Payload: []byte("while cut")})
		}()
		p.Heal()
		if err := <-sent; err != nil {
			t.Fatalf("alice's Publish across the blip: %v", err)
		}
		alice.waitTopic(t, room+"/to-alice")
		bob.waitTopic(t, room+"/from-alice")
		eventually(t, "OnConnect after the blip", func() bool { c, d := alice.counts(); return c == 2 && d == 1 })
	})
}

// TestNoGoroutineLeak checks that closed sessions leave no goroutine
// behind, in Paho or here.
func TestNoGoroutineLeak(t *testing.T) {
	b := startEmbedded(t)
	tr := newTransport(t, testConfig(b.URL()))
	before := settledGoroutines()
	room := unique("room/")
	var sessions []*opened
	for i := range 4 {
		s := open(t, tr, unique("c-"), []string{room + "/#"}, func(c *rooms.SessionConfig) {
			c.Will = &rooms.Packet{Topic: room + "/will", Retained: i%2 == 0}
		})
		sessions = append(sessions, s)
	}
	for _, s := range sessions {
		publish(t, s, room+"/x", "y", false)
	}
	eventually(t, "all messages", func() bool { return sessions[0].count(room+"/x") == len(sessions) })
	for i, s := range sessions {
		closeSession(t, s, i%2 == 0)
	}
	deadline := time.Now().Add(patience)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			var leaked []string
			for _, g := range bytes.Split(buf, []byte("\n\n")) {
				if bytes.Contains(g, []byte("paho")) || bytes.Contains(g, []byte("mqttx.(*session)")) || bytes.Contains(g, []byte("mqttx.(*events)")) {
					leaked = append(leaked, string(g))
				}
			}
			t.Fatalf("%d goroutines, %d before the sessions:\n%s", runtime.NumGoroutine(), before, strings.Join(leaked, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settledGoroutines waits until the goroutine count stops falling (earlier
// tests' connections winding down) and returns it.
func settledGoroutines() int {
	n := runtime.NumGoroutine()
	for range 50 {
		time.Sleep(20 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m >= n {
			return m
		}
		n = m
	}
	return n
}

// TestOpenOddConnack covers a broker that refuses the connection with a
// CONNACK return code MQTT 3.1.1 does not define (Mochi 2.7.9 sends MQTT 5
// reason codes to 3.1.1 clients). Paho 1.5.1 mistakes it for success, on a
// connection the broker closes: Open must still fail, in its own time.
func TestOpenOddConnack(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(patience))
				buf := make([]byte, 512)
				if _, err := c.Read(buf); err != nil { // the CONNECT
					return
				}
				c.Write([]byte{0x20, 0x02, 0x00, 0x82}) // CONNACK, "protocol error"
			}()
		}
	}()
	cfg := testConfig("tcp://" + ln.Addr().String())
	cfg.ConnectTimeout = time.Second
	_, err = newTransport(t, cfg).Open(ctx(t), sessionConfig())
	if err == nil {
		t.Fatal("Open succeeded")
	}
	t.Log(err)
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("error %q is not ErrUnreachable", err)
	}
}
