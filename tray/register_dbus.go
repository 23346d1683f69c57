//go:build (linux || freebsd || openbsd || netbsd) && !android

package tray

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/godbus/dbus/v5"
)

// Registration retries: a host that has just taken the watcher's name may
// not serve its object yet (gtk-sni-tray does this), and the systray
// library tries once only.
const (
	registerFirstDelay = 500 * time.Millisecond
	registerAttempts   = 5
)

// keepRegistered makes sure the icon is registered with every tray host
// that appears while the tray runs, and with the one present at start;
// it calls appeared when a new host takes the watcher's name. It waits on
// the bus's NameOwnerChanged signal, so it wakes only when a host comes or
// goes. It uses conn from several goroutines, which godbus allows.
func keepRegistered(ctx context.Context, log *slog.Logger, appeared func()) {
	conn, err := dialBus(ctx)
	if err != nil {
		log.Debug("tray: cannot watch for tray hosts", "err", err)
		return
	}
	defer conn.Close()
	sigs := make(chan *dbus.Signal, 8)
	conn.Signal(sigs)
	mctx, cancel := context.WithTimeout(ctx, busTimeout)
	// A new watcher is a new tray host: XFCE's panel, GNOME's extension
	// and gtk-sni-tray each bring their own. (KDE keeps its watcher when
	// plasmashell restarts, but its menus are not libdbusmenu-gtk's and
	// need no renewal, and the systray library's own registration covers
	// the rest.)
	err = conn.AddMatchSignalContext(mctx,
		dbus.WithMatchSender("org.freedesktop.DBus"),
		dbus.WithMatchInterface("org.freedesktop.DBus"),
		dbus.WithMatchMember("NameOwnerChanged"),
		dbus.WithMatchArg(0, watcherName))
	cancel()
	if err != nil {
		log.Debug("tray: cannot watch for tray hosts", "err", err)
		return
	}
	// Registration retries run on their own, so that a host that comes
	// meanwhile is seen at once; a new host ends the retries for the one
	// before.
	var hosts atomic.Uint64
	go ensureRegistered(ctx, conn, log, &hosts, hosts.Load())
	for {
		select {
		case <-ctx.Done():
			return
		case sig, ok := <-sigs:
			if !ok {
				return
			}
			if len(sig.Body) == 3 && sig.Body[2] != "" {
				log.Info("tray: a tray host appeared; showing the icon")
				appeared()
				go ensureRegistered(ctx, conn, log, &hosts, hosts.Add(1))
			}
		}
	}
}

// ensureRegistered registers the icon with the watcher unless the watcher
// lists it already, retrying a few times while the watcher is not ready.
// It gives up when hosts moves on from host: a newer host has its own.
func ensureRegistered(ctx context.Context, conn *dbus.Conn, log *slog.Logger, hosts *atomic.Uint64, host uint64) {
	item := fmt.Sprintf("org.kde.StatusNotifierItem-%d-1", os.Getpid())
	delay := registerFirstDelay
	var err error
	for range registerAttempts {
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		if hosts.Load() != host {
			return
		}
		delay *= 2
		var done bool
		if done, err = registerOnce(ctx, conn, item); done {
			return
		}
	}
	log.Warn("tray: the tray host did not take the icon", "err", err)
}

// registerOnce reports whether the watcher lists the item, after
// registering it by its bus name if it did not. A watcher that is gone
// counts as done: the next one brings a new signal.
func registerOnce(ctx context.Context, conn *dbus.Conn, item string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, busTimeout)
	defer cancel()
	var owned bool
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, watcherName).Store(&owned); err != nil {
		return false, err
	}
	if !owned {
		return true, nil
	}
	var owner string
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetNameOwner", 0, item).Store(&owner); err != nil {
		return false, fmt.Errorf("the icon is not on the bus: %w", err)
	}
	watcher := conn.Object(watcherName, "/StatusNotifierWatcher")
	var v dbus.Variant
	if err := watcher.CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, watcherName, "RegisteredStatusNotifierItems").Store(&v); err == nil {
		items, _ := v.Value().([]string)
		if slices.ContainsFunc(items, func(s string) bool {
			return strings.HasPrefix(s, item) || strings.HasPrefix(s, owner+"/") || s == owner
		}) {
			return true, nil
		}
	}
	// By bus name, since this connection is not the item's: the watcher
	// then looks for the item at the standard path, where it is.
	if err := watcher.CallWithContext(ctx, watcherName+".RegisterStatusNotifierItem", 0, item).Err; err != nil {
		return false, err
	}
	return false, nil // check again that it took
}
