package mqttx

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/sunoye/sunoye/rooms"
)

func TestBrokerAddr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", DefaultBrokerAddr},
		{":1884", "127.0.0.1:1884"},
		{"0.0.0.0:1883", "0.0.0.0:1883"},
		{"[::1]:1883", "[::1]:1883"},
		{"192.168.1.10:1883", "192.168.1.10:1883"},
	}
	for _, tt := range tests {
		if got, err := brokerAddr(tt.in); err != nil || got != tt.want {
			t.Errorf("brokerAddr(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"1883", "localhost", "a:b:c"} {
		if _, err := NewBroker(bad, nil); err == nil {
			t.Errorf("NewBroker(%q) succeeded", bad)
		}
	}
}

func TestBrokerAddrInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	_, err = NewBroker(addr, nil)
	want := fmt.Sprintf("embedded broker: listen %s: address already in use — another broker runs there; point sunoye at it with --broker tcp://%s", addr, addr)
	if err == nil || err.Error() != want {
		t.Fatalf("NewBroker on a port in use = %v, want %q", err, want)
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("error is not EADDRINUSE")
	}
}

func TestBrokerLifecycle(t *testing.T) {
	for _, addr := range []string{":0", "127.0.0.1:0", "0.0.0.0:0"} {
		t.Run(addr, func(t *testing.T) {
			b, err := NewBroker(addr, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if err := b.Start(); err != nil {
				t.Fatal(err)
			}
			if err := b.Start(); err != nil {
				t.Fatalf("second Start: %v", err)
			}
			host, _, _ := net.SplitHostPort(b.Addr())
			if addr == ":0" && host != "127.0.0.1" {
				t.Errorf("an empty host listens on %s, want loopback", b.Addr())
			}
			if !strings.HasPrefix(b.URL(), "tcp://127.0.0.1:") || strings.HasSuffix(b.URL(), ":0") {
				t.Errorf("URL() = %q, want tcp://127.0.0.1:PORT", b.URL())
			}
			s := open(t, newTransport(t, testConfig(b.URL())), unique("c-"), []string{"x/#"})
			publish(t, s, "x/y", "z", false)
			s.waitTopic(t, "x/y")
			b.Close()
			b.Close()
			eventually(t, "the client to notice the broker is gone", func() bool { return !s.Connected() })
		})
	}
}

func TestPublishTooLarge(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b testBroker) {
		tr := newTransport(t, testConfig(b.URL()))
		topic := unique("room/") + "/big"
		s := open(t, tr, unique("c-"), []string{topic})
		fits := make([]byte, MaxPacketSize-packetSize(rooms.Packet{Topic: topic}))
		publish(t, s, topic, string(fits), false)
		if got := s.waitTopic(t, topic); len(got.Payload) != len(fits) {
			t.Errorf("got %d bytes, want %d", len(got.Payload), len(fits))
		}
		err := s.Publish(ctx(t), rooms.Packet{Topic: topic, Payload: append(fits, 0)})
		if !errors.Is(err, rooms.ErrTooLong) {
			t.Errorf("Publish of one byte more = %v, want rooms.ErrTooLong", err)
		}
	})
}
