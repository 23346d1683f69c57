package mqttx

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Keep-alive without a timer per connection.
//
// Paho's own pinger wakes every 5 s on every connection (for any
// keep-alive over 10 s), and SunOye has a connection per room: 20 rooms
// woke the daemon 4 times a second to do nothing. For TCP and TLS brokers
// the Transport keeps its connections alive itself instead, with ONE
// timer for all of them, ticking once per KeepAlive (30 s, the lease
// heartbeat's period):
//
//   - Paho runs with keep-alive 0, so it starts no pinger;
//   - the CONNECT packet is rewritten on its way out to announce a
//     keep-alive of twice the tick, so the broker still drops (and sends the
//     Will of) a client it has not heard from in three ticks;
//   - each tick writes a PINGREQ on every connection, between Paho's packets
//     (Paho writes each packet in one Write call), and the broker's
//     PINGRESP is read by Paho, which ignores it;
//   - a connection on which nothing was read for two and a half ticks is
//     dead: its pending read fails, and Paho reconnects.
//
// WebSocket brokers keep Paho's pinger: their connections are Paho's own.

// pingReq is an MQTT PINGREQ packet.
var pingReq = []byte{0xC0, 0x00}

// keeper pings a Transport's connections.
type keeper struct {
	every time.Duration

	mu    sync.Mutex
	conns map[*keptConn]struct{}
	stop  chan struct{} // closes the running loop; nil when none runs
}

func newKeeper(every time.Duration) *keeper {
	return &keeper{every: every, conns: make(map[*keptConn]struct{})}
}

// add starts keeping c alive; the loop runs only while there are
// connections, so an idle daemon with no room has no timer at all.
func (k *keeper) add(c *keptConn) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.conns[c] = struct{}{}
	if k.stop == nil {
		k.stop = make(chan struct{})
		go k.loop(k.stop)
	}
}

func (k *keeper) remove(c *keptConn) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.conns, c)
	if len(k.conns) == 0 && k.stop != nil {
		close(k.stop)
		k.stop = nil
	}
}

func (k *keeper) loop(stop <-chan struct{}) {
	t := time.NewTicker(k.every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			k.tick(now)
		}
	}
}

// tick pings every connection, and closes those that went silent.
func (k *keeper) tick(now time.Time) {
	k.mu.Lock()
	conns := make([]*keptConn, 0, len(k.conns))
	for c := range k.conns {
		conns = append(conns, c)
	}
	k.mu.Unlock()
	deadAfter := k.every*5/2 + k.every/10
	for _, c := range conns {
		if now.Sub(time.Unix(0, c.lastRead.Load())) > deadAfter {
			// Not Close: Paho takes a read on a closed connection for its
			// own shutdown and would never reconnect. A read deadline in
			// the past fails the read with a timeout, which Paho reports as
			// a lost connection; it closes the connection and reconnects.
			c.Conn.SetReadDeadline(now)
			continue
		}
		c.ping()
	}
}

// keptConn is a connection whose keep-alive the keeper handles.
type keptConn struct {
	net.Conn
	k         *keeper
	announce  uint16 // keep-alive written into CONNECT, in seconds
	wmu       sync.Mutex
	connected bool // CONNECT has gone out
	lastRead  atomic.Int64
	closeOnce sync.Once
}

func (c *keptConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.lastRead.Store(time.Now().UnixNano())
	}
	return n, err
}

func (c *keptConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.connected {
		c.connected = true
		p = withKeepAlive(p, c.announce)
	}
	return c.Conn.Write(p)
}

// ping writes a PINGREQ between two of Paho's packets.
func (c *keptConn) ping() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.connected {
		return
	}
	c.Conn.SetWriteDeadline(time.Now().Add(c.k.every))
	c.Conn.Write(pingReq)
	c.Conn.SetWriteDeadline(time.Time{})
}

func (c *keptConn) Close() error {
	c.closeOnce.Do(func() { c.k.remove(c) })
	return c.Conn.Close()
}

// withKeepAlive returns a copy of an MQTT 3.1.1 CONNECT packet with its
// keep-alive set to secs; anything else is returned as it is.
func withKeepAlive(p []byte, secs uint16) []byte {
	if len(p) < 2 || p[0] != 0x10 {
		return p
	}
	// The remaining length is a variable-length integer of 1 to 4 bytes.
	i := 1
	for i < len(p) && i <= 4 && p[i]&0x80 != 0 {
		i++
	}
	i++ // past its last byte
	// Protocol name "MQTT" (2 + 4), level (1), flags (1), keep-alive (2).
	if len(p) < i+10 || string(p[i:i+6]) != "\x00\x04MQTT" {
		return p
	}
	q := append([]byte(nil), p...)
	binary.BigEndian.PutUint16(q[i+8:], secs)
	return q
}

// openConnection dials a TCP or TLS broker for Paho and hands the
// connection to the keeper.
func (t *Transport) openConnection(uri *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), o.ConnectTimeout)
	defer cancel()
	d := &net.Dialer{Timeout: o.ConnectTimeout, KeepAlive: t.cfg.KeepAlive}
	var conn net.Conn
	var err error
	switch uri.Scheme {
	case "ssl", "mqtts", "tls", "tcps":
		cfg := o.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{}
		} else {
			cfg = cfg.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = uri.Hostname()
		}
		conn, err = (&tls.Dialer{NetDialer: d, Config: cfg}).DialContext(ctx, "tcp", uri.Host)
	default:
		conn, err = d.DialContext(ctx, "tcp", uri.Host)
	}
	if err != nil {
		return nil, err
	}
	c := &keptConn{Conn: conn, k: t.keeper, announce: uint16(min(2*t.cfg.KeepAlive/time.Second, 0xFFFF))}
	c.lastRead.Store(time.Now().UnixNano())
	t.keeper.add(c)
	return c, nil
}

// useKeeper reports whether the Transport keeps its connections alive
// itself (TCP and TLS) or leaves it to Paho (WebSocket).
func (u brokerURL) useKeeper() bool {
	switch u.dial.Scheme {
	case "ws", "wss":
		return false
	}
	return true
}
