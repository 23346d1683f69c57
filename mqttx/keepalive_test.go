package mqttx

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/sunoye/sunoye/internal/testenv"
)

func TestWithKeepAlive(t *testing.T) {
	for _, clientID := range []string{"c", string(bytes.Repeat([]byte("x"), 200))} { // 1- and 2-byte remaining lengths
		cp := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
		cp.ProtocolName, cp.ProtocolVersion, cp.ClientIdentifier, cp.Keepalive = "MQTT", 4, clientID, 0
		var buf bytes.Buffer
		if err := cp.Write(&buf); err != nil {
			t.Fatal(err)
		}
		orig := bytes.Clone(buf.Bytes())
		patched := withKeepAlive(buf.Bytes(), 60)
		if !bytes.Equal(buf.Bytes(), orig) {
			t.Error("withKeepAlive changed its argument")
		}
		got, err := packets.ReadPacket(bytes.NewReader(patched))
		if err != nil {
			t.Fatal(err)
		}
		c := got.(*packets.ConnectPacket)
		if c.Keepalive != 60 || c.ClientIdentifier != clientID {
			t.Errorf("patched CONNECT: keep-alive %d, client %q", c.Keepalive, c.ClientIdentifier[:1])
		}
	}
	for _, p := range [][]byte{nil, {0x30, 0x00}, {0x10}, {0x10, 0x05, 0, 4, 'M', 'Q'}} {
		if got := withKeepAlive(p, 60); !bytes.Equal(got, p) {
			t.Errorf("withKeepAlive(%x) = %x, want it untouched", p, got)
		}
	}
}

// With pings only once per KeepAlive, on one timer, a quiet session stays
// connected: mosquitto, told twice the KeepAlive, would drop a client it
// does not hear from for three.
func TestKeeperKeepsQuietSessionsAlive(t *testing.T) {
	m := testenv.StartMosquitto(t)
	cfg := testConfig(m.URL())
	cfg.KeepAlive = time.Second
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := open(t, tr, unique("quiet-a-"), []string{unique("q/")})
	b := open(t, tr, unique("quiet-b-"), []string{unique("q/")})
	time.Sleep(6 * cfg.KeepAlive) // what is measured: six keep-alives of silence
	for _, s := range []*opened{a, b} {
		if c, d := s.counts(); c != 1 || d != 0 || !s.Connected() {
			t.Errorf("after 6 s of silence: %d connects, %d disconnects, connected %v; want 1, 0, true", c, d, s.Connected())
		}
	}
}

// A broker that goes silent (here: answers CONNACK, then nothing) is
// noticed within a few KeepAlives, and Paho reconnects; the CONNECT that
// reached it announced twice the KeepAlive.
func TestKeeperNoticesSilentBroker(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	connects := make(chan uint16, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				p, err := packets.ReadPacket(c)
				if err != nil {
					return
				}
				connects <- p.(*packets.ConnectPacket).Keepalive
				ack := packets.NewControlPacket(packets.Connack).(*packets.ConnackPacket)
				ack.Write(c)
				io.Copy(io.Discard, c) // then silence: no PINGRESP
			}()
		}
	}()
	cfg := testConfig("tcp://" + ln.Addr().String())
	cfg.KeepAlive = time.Second
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := open(t, tr, unique("silent-"), nil)
	if ka := <-connects; ka != 2 {
		t.Errorf("CONNECT announced keep-alive %d, want 2 (twice KeepAlive)", ka)
	}
	start := time.Now()
	eventually(t, "the silent connection to be dropped", func() bool { _, d := s.counts(); return d >= 1 })
	if took := time.Since(start); took > 10*cfg.KeepAlive {
		t.Errorf("a silent broker went unnoticed for %v", took)
	}
	select {
	case <-connects:
	case <-time.After(20 * time.Second):
		t.Fatal("no reconnection after dropping the silent connection")
	}
}
