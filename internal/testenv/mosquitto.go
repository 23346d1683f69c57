package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Mosquitto is a private mosquitto broker on loopback, with an MQTT
// listener and a websockets listener.
type Mosquitto struct {
	bin    string
	dir    string
	tls    *brokerTLS // nil for a plain broker
	port   int        // MQTT listener
	wsPort int        // websockets listener
	// persistent selects the configuration of StartMosquittoPersistent.
	persistent bool
	// bridge is the bridge of StartMosquittoBridge; nil for none.
	bridge *bridge
	// clientIDPrefix, if set, is the only client id prefix the broker
	// accepts. See AcceptOnlyClientIDs.
	clientIDPrefix string
	// maxPacket, if set, is the largest MQTT packet the broker takes (see
	// StartMosquittoLimited).
	maxPacket int

	mu   sync.Mutex
	proc *process // nil while stopped
}

// brokerTLS is what a broker needs to serve TLS and check passwords.
type brokerTLS struct {
	caFile, certFile, keyFile, passwordFile string
}

// errPortTaken marks a start that failed because another process took the
// port after FreePort found it free; the first start retries on new ports.
var errPortTaken = errors.New("port taken")

// StartMosquitto starts a private mosquitto broker, with persistence off
// and anonymous clients allowed, listening for MQTT on 127.0.0.1 on a free
// port and for MQTT over websockets on another free port. The broker is
// stopped when the test ends.
func StartMosquitto(t testing.TB) *Mosquitto {
	t.Helper()
	m := new(Mosquitto)
	m.init(t, nil)
	return m
}

// init starts the broker for the first time, on fresh ports.
func (m *Mosquitto) init(t testing.TB, tls *brokerTLS) {
	t.Helper()
	m.bin = NeedBinary(t, "mosquitto", "mosquitto")
	m.dir = t.TempDir()
	m.tls = tls
	t.Cleanup(m.stop)
	for attempt := 1; ; attempt++ {
		m.port, m.wsPort = FreePort(t), FreePort(t)
		err := m.start()
		if err == nil {
			return
		}
		if !errors.Is(err, errPortTaken) || attempt == 3 {
			t.Fatalf("testenv: %v", err)
		}
	}
}

// URL returns the broker's MQTT URL, "tcp://127.0.0.1:PORT" ("ssl://" for
// a TLS broker).
func (m *Mosquitto) URL() string {
	scheme := "tcp"
	if m.tls != nil {
		scheme = "ssl"
	}
	return fmt.Sprintf("%s://%s", scheme, m.Addr())
}

// WSURL returns the URL of the broker's websockets listener,
// "ws://127.0.0.1:PORT" ("wss://" for a TLS broker). Mosquitto accepts any
// path on it.
func (m *Mosquitto) WSURL() string {
	scheme := "ws"
	if m.tls != nil {
		scheme = "wss"
	}
	return fmt.Sprintf("%s://127.0.0.1:%d", scheme, m.wsPort)
}

// Addr returns the host:port of the broker's MQTT listener,
// "127.0.0.1:PORT".
func (m *Mosquitto) Addr() string { return fmt.Sprintf("127.0.0.1:%d", m.port) }

// Stop stops the broker (SIGTERM) and waits until it has exited. Its ports
// stay reserved, so that Start can start it again on them. Stopping a
// stopped broker does nothing.
func (m *Mosquitto) Stop(t testing.TB) {
	t.Helper()
	m.stop()
}

// Start starts a stopped broker again on the same ports, for tests of
// what clients do when their broker restarts. It waits until the broker
// accepts connections.
func (m *Mosquitto) Start(t testing.TB) {
	t.Helper()
	m.mu.Lock()
	running := m.proc != nil
	m.mu.Unlock()
	if running {
		t.Fatalf("testenv: Mosquitto.Start: broker on %s is already running", m.Addr())
	}
	if err := m.start(); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}

// AcceptOnlyClientIDs makes the broker, from its next Start, refuse
// every client whose id does not start with prefix ("not authorised", as
// a broker whose ACL denies a client); "" accepts all again. For tests of
// what happens when some of a client's connections are refused and others
// are not.
func (m *Mosquitto) AcceptOnlyClientIDs(prefix string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clientIDPrefix = prefix
}

func (m *Mosquitto) stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc != nil {
		m.proc.stop()
		m.proc = nil
	}
}

// start runs mosquitto and waits until it serves both listeners.
func (m *Mosquitto) start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	conf := filepath.Join(m.dir, "mosquitto.conf")
	if err := os.WriteFile(conf, []byte(m.config()), 0o600); err != nil {
		return fmt.Errorf("writing mosquitto config: %w", err)
	}
	p, err := startProcess("mosquitto", filepath.Join(m.dir, "mosquitto.log"), exec.Command(m.bin, "-c", conf))
	if err != nil {
		return err
	}
	err = p.waitReady(readyTimeout, func() error {
		// Mosquitto logs "running" once all its listeners are open; the
		// dials check that the ports are really its own.
		if !bytes.Contains(p.logSinceStart(), []byte(" running")) {
			return errors.New("has not logged that it is running")
		}
		return dialTCP(m.Addr(), fmt.Sprintf("127.0.0.1:%d", m.wsPort))
	})
	if err != nil {
		p.stop()
		// libwebsockets does not say why it could not listen.
		if p.addrInUse("Unable to create websockets listener") {
			return fmt.Errorf("%w: %w", errPortTaken, err)
		}
		return err
	}
	m.proc = p
	return nil
}

// config returns the contents of mosquitto.conf.
func (m *Mosquitto) config() string {
	var b strings.Builder
	m.writePersistence(&b)
	b.WriteString("log_dest stderr\n")
	b.WriteString("log_type error\nlog_type warning\nlog_type notice\nlog_type information\n")
	// Run as ourselves: as root, mosquitto would otherwise switch to the
	// user mosquitto, which cannot read our temp dir.
	if os.Geteuid() == 0 {
		fmt.Fprintf(&b, "user %s\n", userName())
	}
	if m.maxPacket > 0 {
		// max_packet_size bounds whole packets, headers included (a
		// client that sends a larger one is disconnected);
		// message_size_limit the payload of a PUBLISH (dropped).
		fmt.Fprintf(&b, "max_packet_size %d\nmessage_size_limit %d\n", m.maxPacket, m.maxPacket)
	}
	if m.clientIDPrefix != "" {
		fmt.Fprintf(&b, "clientid_prefixes %s\n", m.clientIDPrefix)
	}
	if m.tls == nil {
		b.WriteString("allow_anonymous true\n")
	} else {
		b.WriteString("allow_anonymous false\n")
		fmt.Fprintf(&b, "password_file %s\n", m.tls.passwordFile)
	}
	listeners := []struct {
		port     int
		protocol string
	}{
		{m.port, "mqtt"},
		{m.wsPort, "websockets"},
	}
	for _, l := range listeners {
		// Mosquitto 2.0.11 ignores the address for websockets listeners
		// and binds every interface; the port is still private to us.
		fmt.Fprintf(&b, "\nlistener %d 127.0.0.1\n", l.port)
		fmt.Fprintf(&b, "protocol %s\n", l.protocol)
		b.WriteString("set_tcp_nodelay true\n")
		if m.tls != nil {
			fmt.Fprintf(&b, "cafile %s\ncertfile %s\nkeyfile %s\n", m.tls.caFile, m.tls.certFile, m.tls.keyFile)
		}
	}
	m.writeBridge(&b)
	return b.String()
}

// dialTCP checks that every addr accepts TCP connections.
func dialTCP(addrs ...string) error {
	for _, addr := range addrs {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return err
		}
		c.Close()
	}
	return nil
}

// StartMosquittoLimited is StartMosquitto with packets capped at
// maxPacket bytes, headers included, as some hosted brokers cap them
// (256 KiB is common): a client that sends a larger packet is
// disconnected, and a larger payload dropped.
func StartMosquittoLimited(t testing.TB, maxPacket int) *Mosquitto {
	t.Helper()
	m := &Mosquitto{maxPacket: maxPacket}
	m.init(t, nil)
	return m
}
