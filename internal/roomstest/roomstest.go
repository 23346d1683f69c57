// Package roomstest wires a rooms.Service to real adapters — the MQTT
// transport of mqttx and a registry of db — the way cmd/sunoye does, for
// the tests of the packages built on the domain (web, notifier, tray, and
// cmd/sunoye's benchmarks).
//
// It is apart from internal/testenv because db's and mqttx's own tests use
// testenv: testenv cannot import them.
package roomstest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/sunoye/sunoye/db"
	"github.com/sunoye/sunoye/mqttx"
	"github.com/sunoye/sunoye/rooms"
)

// shutdownTimeout bounds the clean leave of a Service when its test ends.
const shutdownTimeout = 10 * time.Second

// Config says how to wire one Service.
type Config struct {
	// Name is the member's display name.
	Name string
	// Broker is the MQTT broker's URL.
	Broker string
	// DB is the registry's DSN, opened for this Service and closed when
	// the test ends; unused if Registry is set.
	DB string
	// Registry, if set, is a registry shared with other Services (one
	// connection pool for many members in one process).
	Registry rooms.Registry
	// Transport configures the MQTT transport beyond its broker (test
	// timings, a logger); its Broker field is set from Broker.
	Transport mqttx.Config
	// KDF derives the room keys; the zero value is rooms' default. Tests
	// that create many rooms use cheap parameters.
	KDF rooms.KDFParams
	// Logger receives the Service's log; nil discards it.
	Logger *slog.Logger
	// Run runs the Service's Run loop (heartbeats, notifications) until
	// the test ends.
	Run bool
	// Store, if set, receives the Service's state (its joined rooms and
	// their keys); by default the Service writes none.
	Store rooms.StateStore
}

// NewService returns a Service wired as c says. When the test ends its Run
// loop (if any) stops, then it leaves its rooms cleanly (Shutdown).
func NewService(tb testing.TB, c Config) *rooms.Service {
	tb.Helper()
	reg := c.Registry
	if reg == nil {
		r, err := db.Open(tb.Context(), c.DB)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { r.Close() })
		reg = r
	}
	tc := c.Transport
	tc.Broker = c.Broker
	tr, err := mqttx.New(tc)
	if err != nil {
		tb.Fatal(err)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	svc, err := rooms.NewService(rooms.Config{Identity: rooms.NewIdentity(), Name: c.Name, KDF: c.KDF, Logger: c.Logger}, reg, tr, c.Store)
	if err != nil {
		tb.Fatal(err)
	}
	stopRun := func() {}
	if c.Run {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); svc.Run(ctx) }()
		stopRun = func() { cancel(); <-done }
	}
	tb.Cleanup(func() {
		stopRun()
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		svc.Shutdown(ctx)
	})
	return svc
}

// StartBroker starts SunOye's embedded broker on a free loopback port and
// returns its URL; it is closed when the test ends.
func StartBroker(tb testing.TB) string {
	tb.Helper()
	b, err := mqttx.NewBroker("127.0.0.1:0", nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := b.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close() })
	return b.URL()
}
