package mqttx

import (
	"log/slog"
	"time"
)

// Config configures a Transport. Only Broker is required; a zero field
// takes the default given in its comment.
type Config struct {
	// Broker is the broker's URL, one of URLForms, or the URLs of a
	// cluster's nodes separated by commas: sessions connect to the first
	// that answers, and move to another when theirs is lost.
	Broker string
	// Username and Password authenticate to the broker. When Username is
	// set, the pair replaces any user information in Broker.
	Username string
	Password string
	// CAFile names a PEM file of CA certificates to trust, in addition to
	// the system's roots, for a TLS broker (ssl://, mqtts://, wss://)
	// whose certificate a private CA signed.
	CAFile string
	// Logger receives the transport's log; nil discards it. Passwords and
	// payloads are never logged.
	Logger *slog.Logger

	// ConnectTimeout bounds one connection attempt: dial, TLS, WebSocket
	// upgrade and MQTT handshake (default 10 s). It also bounds a write to
	// the network and the wait for a SUBACK.
	ConnectTimeout time.Duration
	// KeepAlive is how often each connection is pinged (default 30 s,
	// whole seconds); the broker is told twice that, so it fires the Will
	// of a client it has not heard from for about three KeepAlives (for
	// WebSocket brokers, Paho's own keep-alive of KeepAlive applies).
	KeepAlive time.Duration
	// MaxReconnectInterval caps the back-off between reconnection attempts
	// (default 10 s).
	MaxReconnectInterval time.Duration

	// QueueLen bounds the packets waiting for a session's Deliver
	// (default 1024); QueueBytes bounds their payload bytes (default
	// 16 MiB). While either bound is reached, the session stops reading
	// from the broker (nothing is dropped).
	QueueLen   int
	QueueBytes int
}

// Defaults of Config's zero fields.
const (
	DefaultConnectTimeout       = 10 * time.Second
	DefaultKeepAlive            = 30 * time.Second
	DefaultMaxReconnectInterval = 10 * time.Second
	DefaultQueueLen             = 1024
	DefaultQueueBytes           = 16 << 20
)

// withDefaults fills in zero fields.
func (c Config) withDefaults() Config {
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.KeepAlive <= 0 {
		c.KeepAlive = DefaultKeepAlive
	}
	if c.KeepAlive < time.Second {
		c.KeepAlive = time.Second // MQTT counts it in seconds; 0 would disable it
	}
	if c.MaxReconnectInterval <= 0 {
		c.MaxReconnectInterval = DefaultMaxReconnectInterval
	}
	if c.QueueLen <= 0 {
		c.QueueLen = DefaultQueueLen
	}
	if c.QueueBytes <= 0 {
		c.QueueBytes = DefaultQueueBytes
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
