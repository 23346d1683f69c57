package tray_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/tray"
)

func TestHostPresent(t *testing.T) {
	bus := testenv.SessionBus(t)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus)
	if ok, err := tray.HostPresent(t.Context()); ok || err != nil {
		t.Errorf("a bus without a watcher: HostPresent = %v, %v; want false, nil", ok, err)
	}
	testenv.StatusNotifierWatcher(t, bus)
	if ok, err := tray.HostPresent(t.Context()); !ok || err != nil {
		t.Errorf("a bus with a watcher: HostPresent = %v, %v; want true, nil", ok, err)
	}

	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-bus"))
	if _, err := tray.HostPresent(t.Context()); !errors.Is(err, tray.ErrNoSessionBus) {
		t.Errorf("no bus: HostPresent error %v, want ErrNoSessionBus", err)
	}
}

// A bus that accepts the connection and then says nothing must not hang
// the daemon.
func TestHostPresentBusHangs(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "mute-bus")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+sock)
	start := time.Now()
	ok, err := tray.HostPresent(t.Context())
	if ok || !errors.Is(err, tray.ErrNoSessionBus) {
		t.Errorf("HostPresent = %v, %v; want false and ErrNoSessionBus", ok, err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("HostPresent took %v on a bus that never answers", d)
	}
}

// Without a session bus, Run says once why there is no icon, and waits
// for the daemon to end rather than failing or panicking.
func TestRunWithoutSessionBus(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-bus"))
	br := startBroker(t, "127.0.0.1:0")
	svc := newService(t, "Asha", br.url(), "sqlite://"+filepath.Join(t.TempDir(), "registry.db"))
	log, logs := newLogger(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- tray.Run(ctx, tray.Options{Service: svc, Logger: log}) }()

	const line = "tray icon cannot be shown: no D-Bus session bus"
	eventually(t, "the no-bus line", func() (bool, string) { return logs.Count(line) == 1, logs.String() })
	// The daemon goes on: the rooms work without the icon.
	if _, err := svc.Create(t.Context(), ""); err != nil {
		t.Fatalf("create a room without a tray: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Run did not return when its context ended")
	}
	if n := logs.Count(line); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, logs.String())
	}
}
