package mqttx

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// DefaultBrokerAddr is where NewBroker listens when given no address.
const DefaultBrokerAddr = "127.0.0.1:1883"

// Limits of the embedded broker.
const (
	// MaxPacketSize bounds an MQTT packet the embedded broker accepts,
	// and one a Session publishes: 256 KiB, some thirty times a SunOye
	// message of the longest text once signed, encrypted and encoded, yet
	// small enough that a peer cannot make the broker buffer much.
	MaxPacketSize = 256 << 10
	// MaxQueued bounds the QoS 1 messages the broker holds for one client
	// (in flight, or queued while its daemon is away); more are dropped.
	// It is the most MQTT's 16-bit packet ids allow: Mochi's default of
	// 8,192 dropped messages under pipelined QoS 1 load.
	MaxQueued = 65535
	// maxWritesPending bounds the packets waiting to be written to one
	// client's socket; beyond it Mochi drops them.
	maxWritesPending = 65536
	// SessionExpiry is how long the broker keeps the session of a client
	// that went away without discarding it: a daemon that comes back
	// within a week gets the messages it missed.
	SessionExpiry = 7 * 24 * time.Hour
)

// Broker is an embedded MQTT broker for a LAN or for tests: MQTT 3.1.1 and
// 5 over TCP, retained messages, Wills and persistent sessions, all kept
// in memory, so a restart forgets them.
//
// It lets any client connect, read and write any topic. That suits a
// trusted LAN and tests: SunOye's payloads are end-to-end encrypted and
// signed before they reach a broker, so what an intruder could do is read
// ciphertext, learn which room numbers are in use, and disrupt; on any
// other network, use a broker with authentication and TLS.
//
// Unlike mosquitto, which does everything in one thread, Mochi answers
// before it has finished, which clients may notice: it sends the SUBACK
// before the retained messages, so a message published meanwhile can come
// twice (live and retained); it sends the PUBACK before it passes the
// message on, so a session that takes over its old one at that moment
// (reconnecting) can miss that message.
type Broker struct {
	srv   *mochi.Server
	tcp   *tcpListener
	log   *slog.Logger
	start sync.Once
	close sync.Once
	err   error
}

// NewBroker makes a broker listening on addr (host:port; "" means
// DefaultBrokerAddr, an empty host the loopback address, port 0 a free
// port). Only an explicit host such as 0.0.0.0 opens it to the network.
// It binds the address at once, so that a port in use is reported here;
// Start serves it. logger may be nil.
func NewBroker(addr string, logger *slog.Logger) (*Broker, error) {
	addr, err := brokerAddr(addr)
	if err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = slog.New(dropAttrs(logger.Handler(), "pk", "packet", "payload"))

	caps := mochi.NewDefaultServerCapabilities()
	caps.MaximumPacketSize = MaxPacketSize
	caps.MaximumInflight = MaxQueued
	caps.MaximumClientWritesPending = maxWritesPending
	caps.MaximumSessionExpiryInterval = uint32(SessionExpiry / time.Second)
	// Mochi's default removes retained messages and queued ones after a
	// day; SunOye's presence is retained for as long as a member stays.
	caps.MaximumMessageExpiryInterval = 0
	srv := mochi.New(&mochi.Options{
		Capabilities:           caps,
		Logger:                 logger,
		SysTopicResendInterval: 60, // $SYS statistics: once a minute is plenty
	})
	for _, h := range []mochi.Hook{new(allowAll), new(emptyWill)} {
		if err := srv.AddHook(h, nil); err != nil {
			return nil, fmt.Errorf("embedded broker: %w", err)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if isAddrInUse(err) {
			return nil, fmt.Errorf("embedded broker: listen %s: %w — another broker runs there; point sunoye at it with --broker tcp://%s",
				addr, syscall.EADDRINUSE, addr)
		}
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	tcp := newTCPListener("tcp", ln)
	if err := srv.AddListener(tcp); err != nil {
		ln.Close()
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	return &Broker{srv: srv, tcp: tcp, log: logger}, nil
}

// brokerAddr applies NewBroker's defaults to addr.
func brokerAddr(addr string) (string, error) {
	if addr == "" {
		return DefaultBrokerAddr, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("listen address %q: %w", addr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// isAddrInUse tells whether err is a listen's "address already in use".
// Windows reports WSAEADDRINUSE (10048), which syscall.EADDRINUSE does not
// match there.
func isAddrInUse(err error) bool {
	var errno syscall.Errno
	return errors.Is(err, syscall.EADDRINUSE) || errors.As(err, &errno) && errno == 10048
}

// Start serves clients until Close. Calling it again does nothing.
func (b *Broker) Start() error {
	b.start.Do(func() {
		if b.err = b.srv.Serve(); b.err == nil {
			b.log.Info("embedded MQTT broker listening", "addr", b.Addr())
		}
	})
	return b.err
}

// Close disconnects the clients and stops listening. Calling it again
// does nothing.
func (b *Broker) Close() error {
	b.close.Do(func() { _ = b.srv.Close() })
	return nil
}

// Addr is the address the broker listens on, with the actual port if it
// was asked for port 0.
func (b *Broker) Addr() string { return b.tcp.Address() }

// URL is the broker's URL for clients: tcp://Addr(). A broker listening on
// all interfaces (0.0.0.0 or ::) is named by its loopback address.
func (b *Broker) URL() string {
	host, port, err := net.SplitHostPort(b.Addr())
	if err != nil {
		return "tcp://" + b.Addr()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1" // Go listens dual-stack on "::" and 0.0.0.0 alike
	}
	return "tcp://" + net.JoinHostPort(host, port)
}

// allowAll is the embedded broker's authentication and ACL hook: anyone
// may connect and use any topic (see Broker). It is Mochi's auth.AllowHook,
// rewritten because that package pulls in a YAML library the module does
// not otherwise need.
type allowAll struct{ mochi.HookBase }

func (*allowAll) ID() string { return "sunoye-allow-all" }

func (*allowAll) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}

func (*allowAll) OnConnectAuthenticate(*mochi.Client, packets.Packet) bool { return true }

func (*allowAll) OnACLCheck(*mochi.Client, string, bool) bool { return true }
