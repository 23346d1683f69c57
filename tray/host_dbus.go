//go:build (linux || freebsd || openbsd || netbsd) && !android

package tray

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"
)

// busTimeout bounds each look at the session bus: a bus or a host that
// hangs must not hang the daemon.
const busTimeout = 5 * time.Second

// watcherName is the bus name a tray host owns.
const watcherName = "org.kde.StatusNotifierWatcher"

// ErrNoSessionBus says that there is no D-Bus session bus to put an icon
// on (a headless session, or a system without D-Bus).
var ErrNoSessionBus = errors.New("no D-Bus session bus")

// dialBus opens a private connection to the session bus, authenticated
// and said hello to, within busTimeout. It never starts a bus: where the
// address is unknown, dbus-launch would leave a stray one behind.
func dialBus(ctx context.Context) (*dbus.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, busTimeout)
	defer cancel()
	conn, err := dbus.SessionBusPrivateNoAutoStartup()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoSessionBus, err)
	}
	// The handshake has no timeout of its own: closing the connection
	// ends it.
	done := make(chan error, 1)
	go func() {
		err := conn.Auth(nil)
		if err == nil {
			err = conn.Hello()
		}
		done <- err
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		err = fmt.Errorf("no answer within %v", busTimeout)
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: %v", ErrNoSessionBus, err)
	}
	return conn, nil
}

// checkBus says why the icon cannot be shown, or nil if there is a bus.
func checkBus(ctx context.Context) error {
	conn, err := dialBus(ctx)
	if err != nil {
		return err
	}
	return conn.Close()
}

// HostPresent reports whether the session bus has a tray host: a
// StatusNotifierWatcher that says a host (a panel that draws the icons) is
// registered with it. The error is ErrNoSessionBus (wrapped) without a
// bus, or says why the bus could not be asked. It is for `sunoye doctor`;
// Run checks by itself.
func HostPresent(ctx context.Context) (bool, error) {
	conn, err := dialBus(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, busTimeout)
	defer cancel()
	var owned bool
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, watcherName).Store(&owned); err != nil {
		return false, fmt.Errorf("ask the session bus for %s: %w", watcherName, err)
	}
	if !owned {
		return false, nil
	}
	var v dbus.Variant
	err = conn.Object(watcherName, "/StatusNotifierWatcher").CallWithContext(ctx,
		"org.freedesktop.DBus.Properties.Get", 0, watcherName, "IsStatusNotifierHostRegistered").Store(&v)
	if err != nil {
		// A watcher that does not say is taken at its word: it exists to
		// serve a host.
		return true, nil
	}
	host, ok := v.Value().(bool)
	return !ok || host, nil
}
