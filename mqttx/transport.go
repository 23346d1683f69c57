package mqttx

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/sunoye/sunoye/rooms"
)

var _ rooms.Transport = (*Transport)(nil)

// Transport opens rooms' sessions on one MQTT broker, or on the nodes of
// a clustered one: one Paho client, and so one connection with its own
// Will, per session. It is safe for concurrent use.
type Transport struct {
	cfg    Config
	url    brokerList
	tls    *tls.Config
	user   string
	pass   string
	logger *slog.Logger
	keeper *keeper // pings the TCP and TLS connections (keepalive.go)
}

// New validates cfg and returns a Transport for its broker. It does not
// connect: Open does. A malformed or unsupported URL, or list of URLs,
// gives an error that wraps ErrBadURL and lists URLForms.
func New(cfg Config) (*Transport, error) {
	cfg = cfg.withDefaults()
	u, err := parseBrokerList(cfg.Broker)
	if err != nil {
		return nil, fmt.Errorf("mqttx: %w", err)
	}
	t := &Transport{
		cfg:    cfg,
		url:    u,
		user:   u.user,
		pass:   u.password,
		logger: cfg.Logger.With("broker", u.redacted),
		keeper: newKeeper(cfg.KeepAlive),
	}
	if cfg.Username != "" {
		t.user, t.pass = cfg.Username, cfg.Password
	}
	if cfg.CAFile == "" {
		cfg.CAFile = u.caFile
		t.cfg.CAFile = u.caFile
	}
	if u.tls {
		if t.tls, err = tlsConfig(cfg.CAFile); err != nil {
			return nil, fmt.Errorf("mqttx: broker %s: %w", u.redacted, err)
		}
	} else if cfg.CAFile != "" {
		t.logger.Warn("CA file ignored: the broker URL is not a TLS one", "ca_file", cfg.CAFile)
	}
	return t, nil
}

// Broker returns the broker's URL, or the list of its nodes' URLs, with
// any password removed.
func (t *Transport) Broker() string { return t.url.redacted }

// Open connects a session with cfg.ClientID, subscribes cfg.Filters and
// returns once the broker has acknowledged the subscriptions. The first
// connection attempt is not retried: its failure is returned, naming the
// broker (ErrUnreachable, ErrBadCredentials …). Once open, the session
// reconnects by itself, and subscribes again after every reconnection.
//
// cfg.OnConnect is first called for the connection that Open made, on the
// session's event goroutine; it may run before Open has returned.
func (t *Transport) Open(ctx context.Context, cfg rooms.SessionConfig) (rooms.Session, error) {
	if err := checkSessionConfig(cfg); err != nil {
		return nil, fmt.Errorf("mqttx: open session %q: %w", cfg.ClientID, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("mqttx: broker %s: connect: %w", t.url.redacted, err)
	}
	cfg.Filters = slices.Clone(cfg.Filters)
	s := newSession(t, cfg)
	s.client = mqtt.NewClient(s.clientOptions())
	s.start()

	tok := s.client.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		s.abort()
		return nil, fmt.Errorf("mqttx: broker %s: connect: %w", t.url.redacted, ctx.Err())
	}
	if err := tok.Error(); err != nil {
		s.abort()
		return nil, fmt.Errorf("mqttx: %w", connectError(t.url.redacted, err))
	}
	// The subscriptions are made in onConnect, as after any reconnection.
	timer := time.NewTimer(t.cfg.ConnectTimeout)
	defer timer.Stop()
	select {
	case err := <-s.firstSub:
		if err != nil {
			s.abort()
			return nil, fmt.Errorf("mqttx: %w", err)
		}
	case <-ctx.Done():
		s.abort()
		return nil, fmt.Errorf("mqttx: broker %s: subscribe: %w", t.url.redacted, ctx.Err())
	case <-timer.C:
		// E.g. a CONNACK refusal with a code outside MQTT 3.1.1, which
		// Paho takes for success on a connection that is already closed.
		s.abort()
		return nil, fmt.Errorf("mqttx: broker %s: %w: connected, but no subscription acknowledged within %v (last error: %v)",
			t.url.redacted, ErrUnreachable, t.cfg.ConnectTimeout, s.lastSubErr())
	}
	return s, nil
}

// checkSessionConfig rejects what the broker would, or what would make the
// session useless, before anything is sent.
func checkSessionConfig(cfg rooms.SessionConfig) error {
	if cfg.ClientID == "" {
		return errors.New("empty client id: a persistent session needs a stable one")
	}
	if cfg.Deliver == nil {
		return errors.New("no Deliver function")
	}
	for _, f := range cfg.Filters {
		if err := checkTopic(f, true); err != nil {
			return err
		}
	}
	if cfg.Will != nil {
		if err := checkTopic(cfg.Will.Topic, false); err != nil {
			return fmt.Errorf("will: %w", err)
		}
	}
	return nil
}

// baseOptions are the Paho options that every client of this Transport
// shares, the session's and Close's "forget" one alike.
func (t *Transport) baseOptions(clientID string) *mqtt.ClientOptions {
	c := t.cfg
	o := mqtt.NewClientOptions()
	// Paho tries the nodes in order at every connection and
	// reconnection, and takes the first that answers.
	for _, n := range t.url.nodes {
		o.AddBroker(n.dial.String())
	}
	o.SetClientID(clientID)
	o.SetUsername(t.user)
	o.SetPassword(t.pass)
	if t.tls != nil {
		o.SetTLSConfig(t.tls.Clone())
	}
	// 3.1.1 only: by default Paho retries a refused CONNECT with MQTT 3.1,
	// which doubles the attempts and replaces the broker's first answer
	// (say, bad password) with its answer to the old protocol.
	o.SetProtocolVersion(4)
	o.SetConnectTimeout(c.ConnectTimeout)
	if t.url.useKeeper() {
		// One timer for all connections instead of Paho's, which wakes
		// every 5 s per connection (keepalive.go).
		o.SetKeepAlive(0)
		o.SetCustomOpenConnectionFn(t.openConnection)
	} else {
		o.SetDialer(&net.Dialer{Timeout: c.ConnectTimeout, KeepAlive: c.KeepAlive})
		o.SetKeepAlive(c.KeepAlive)
		o.SetPingTimeout(min(c.KeepAlive, c.ConnectTimeout))
	}
	// Without a write timeout, a Publish on a dead connection blocks in
	// Paho for 30 s whatever its context says.
	o.SetWriteTimeout(c.ConnectTimeout)
	o.SetMaxReconnectInterval(c.MaxReconnectInterval)
	o.SetAutoReconnect(true)
	o.SetConnectRetry(false) // the first failure goes back to Open's caller
	// Paho's default handler only writes to its own (silent) debug log.
	o.SetConnectionLostHandler(nil)
	return o
}
