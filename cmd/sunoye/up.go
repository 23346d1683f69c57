package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sunoye/sunoye/db"
	"github.com/sunoye/sunoye/mqttx"
	"github.com/sunoye/sunoye/rooms"
	"github.com/sunoye/sunoye/web"
)

// shutdownTimeout bounds the stop, from the moment it is asked for until
// the rooms are left cleanly: presence cleared and leases released, in
// every room at once. A broker or a
// registry that has not answered by then is not waited for (the Will
// clears the presence, the lease expires), so that Quit or SIGTERM ends
// the daemon within a second whatever is unreachable. It is ample for a
// broker or a registry that answers, even over a slow network (a
// registry's fresh TLS connection takes a few round trips).
const shutdownTimeout = 600 * time.Millisecond

// followsDrain bounds how long, after the rooms are left, the daemon waits
// for the followers' message streams to write out what the stop showed:
// microseconds, unless a follower stopped reading.
const followsDrain = 300 * time.Millisecond

func newUpCmd() *cobra.Command {
	var headless bool
	var leaseTTL time.Duration
	c := &cobra.Command{
		Use:   "up",
		Short: "Run the SunOye daemon",
		Long: `Run the daemon: it keeps the joined rooms' subscriptions alive, serves the
local API that the other commands use, and rejoins the saved rooms at start.
One daemon runs per state directory.

With no --broker, it starts an embedded MQTT broker on 127.0.0.1:1883; with
no --db, it keeps the room registry in the state directory. Both are for
trying SunOye on one machine; point --broker and --db at a shared broker and
MySQL to chat with others.

SIGINT or SIGTERM leave the rooms cleanly (presence cleared, memberships
released) and end the daemon within a second, even with the broker or the
registry unreachable: what they have not answered by then is left to the
broker (it publishes the member's Will) and to the lease's expiry. The
rooms are rejoined at the next start, and messages not yet shown come
again then.`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			// First of all, before a password is read: keep other
			// processes of this user out of the daemon's memory and
			// environment.
			if err := notDumpable(); err != nil {
				return err
			}
			st, err := resolveSettings(c.Flags())
			if err != nil {
				return err
			}
			return runDaemon(c.Context(), st, daemonOptions{headless: headless, leaseTTL: leaseTTL})
		},
	}
	c.Flags().BoolVar(&headless, "headless", false, "run without the tray icon and desktop notifications")
	// Tests shorten the lease to watch crashed members expire; everyone
	// else keeps the default, which the heartbeat interval follows.
	c.Flags().DurationVar(&leaseTTL, "lease-ttl", rooms.DefaultLeaseTTL, "how long a membership outlives its last heartbeat")
	_ = c.Flags().MarkHidden("lease-ttl")
	return c
}

func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if level != "" {
		if err := l.UnmarshalText([]byte(level)); err != nil {
			return nil, usageError{fmt.Errorf("log level %q: use debug, info, warn or error", level)}
		}
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}

// daemonOptions are the options of `sunoye up` beyond the global settings.
type daemonOptions struct {
	headless bool
	leaseTTL time.Duration
}

// runDaemon is `sunoye up`: it wires the adapters to the domain and runs
// until ctx ends.
func runDaemon(ctx context.Context, st settings, opt daemonOptions) error {
	// quit ends the daemon the way SIGTERM does; the tray's Quit calls it.
	ctx, quit := context.WithCancel(ctx)
	defer quit()
	log, err := newLogger(st.LogLevel)
	if err != nil {
		return err
	}
	// Libraries that log through slog's or log's default (the MySQL
	// driver, fyne's systray) follow the daemon's level and format too.
	slog.SetDefault(log)
	if err := rooms.CheckName(st.Name); err != nil {
		return usageError{fmt.Errorf("--name: %w", err)}
	}
	lock, err := lockStateDir(st.StateDir)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	store, err := loadState(st.StateDir)
	if err != nil {
		return err
	}
	identity, err := store.identity()
	if err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	run, err := store.nextRun()
	if err != nil {
		return fmt.Errorf("state file: %w", err)
	}

	// The URLs with their passwords, if given apart (secrets.go); st's
	// own are what logs and the settings view show.
	dsn, err := st.dbDSN()
	if err != nil {
		return err
	}
	if err := checkEmbedded(st.Broker); err != nil {
		return err
	}
	brokerURL, err := st.brokerURL()
	if err != nil {
		return err
	}
	reg, err := db.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer reg.Close()

	if addr, ok := strings.CutPrefix(st.Broker, "embedded://"); ok {
		b, err := mqttx.NewBroker(addr, log.With("component", "broker"))
		if err != nil {
			return fmt.Errorf("%w: %w", rooms.ErrUnavailable, err)
		}
		if err := b.Start(); err != nil {
			return fmt.Errorf("%w: embedded broker: %w", rooms.ErrUnavailable, err)
		}
		// Closed after the rooms are left (defers run last-in first-out).
		defer b.Close()
		brokerURL = b.URL()
	}
	tr, err := mqttx.New(mqttx.Config{Broker: brokerURL, Logger: log.With("component", "mqtt")})
	if err != nil {
		return usageError{err}
	}
	if err := tr.Ping(ctx); err != nil {
		return err
	}

	svc, err := rooms.NewService(rooms.Config{Identity: identity, Name: st.Name, LeaseTTL: opt.leaseTTL, Run: run, Logger: log, Attempts: store}, reg, tr, store)
	if err != nil {
		return err
	}
	if err := svc.Restore(ctx, store.rooms()); err != nil {
		return err
	}
	// stopAt is when the stop was asked for: the budget counts from there,
	// taking in what runs before the rooms are left (the tray icon).
	var stopAt time.Time
	// The chat windows close while the rooms are left, not before; the
	// daemon exits once both are done.
	var windowsClosed chan struct{}
	defer func() {
		if windowsClosed != nil {
			<-windowsClosed
		}
	}()
	var api *web.Server
	defer func() {
		if stopAt.IsZero() {
			stopAt = time.Now()
		}
		sctx, cancel := context.WithDeadline(context.Background(), stopAt.Add(shutdownTimeout))
		defer cancel()
		svc.Shutdown(sctx)
		if api != nil {
			// What the stop showed (and marked shown on disk) reaches the
			// followers (`sunoye tail`) before the process ends.
			select {
			case <-api.FollowsEnded():
			case <-time.After(followsDrain):
				log.Warn("a follower of a room's messages did not read what the stop showed in time")
			}
		}
		log.Info("SunOye stopped; rooms will be rejoined at the next start")
	}()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	api = web.NewServer(svc, web.Info{Version: version(), Broker: mqttx.Redact(st.Broker), Registry: db.Redact(st.DB)}, log)
	api.SetEstimator(estimateStrength)
	apiErr := make(chan error, 1)
	go func() { apiErr <- api.ServeLocal(runCtx, socketPath(st.StateDir)) }()
	go svc.Run(runCtx)

	d, err := startUI(runCtx, svc, api, st, log)
	if err != nil {
		return err
	}
	defer func() {
		windowsClosed = make(chan struct{})
		go func() {
			defer close(windowsClosed)
			d.close()
		}()
	}()
	if !opt.headless {
		defer d.startNotifier(runCtx)()
		trayDone := make(chan struct{})
		go func() {
			d.runTray(runCtx, quit)
			close(trayDone)
		}()
		// Take the icon down before leaving the rooms.
		defer func() {
			cancel()
			<-trayDone
		}()
	}

	log.Info("SunOye is up", "name", st.Name, "broker", mqttx.Redact(st.Broker), "registry", db.Redact(st.DB),
		"rooms", len(svc.Rooms()), "socket", socketPath(st.StateDir), "headless", opt.headless)
	select {
	case <-ctx.Done():
		stopAt = time.Now()
		log.Info("stopping: leaving rooms cleanly")
		return nil
	case err := <-apiErr:
		stopAt = time.Now()
		if err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("local API: %w", err)
		}
		return nil
	}
}
