//go:build linux || freebsd || netbsd || openbsd || dragonfly

package notifier

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/godbus/dbus/v5"
)

// busDaemon is the bus itself, which announces changes of name owners.
const busDaemon = "org.freedesktop.DBus"

// D-Bus errors that mean nobody serves org.freedesktop.Notifications.
var noServerErrors = []string{
	"org.freedesktop.DBus.Error.ServiceUnknown",
	"org.freedesktop.DBus.Error.NameHasNoOwner",
}

// busConn is one private connection to the session bus. It is private
// because the tray library closes the shared connection when it exits.
type busConn struct {
	conn    *dbus.Conn
	signals chan *dbus.Signal
	cancel  context.CancelFunc // closes the connection
}

func (bc *busConn) close() {
	bc.conn.Close()
	bc.cancel()
}

// connection returns the connection to the bus, connecting if there is
// none or the last one was lost. The caller holds n.turn.
func (n *Notifier) connection(ctx context.Context) (*busConn, error) {
	n.mu.Lock()
	closed, bc := n.closed, n.bus
	n.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if bc != nil && bc.conn.Connected() {
		return bc, nil
	}
	if bc != nil {
		n.dropBus(bc)
	}
	bc, err := dial(ctx, n.opt.BusAddress)
	if err == nil {
		err = subscribe(ctx, bc)
		if err != nil {
			bc.close()
		}
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		n.status.off(condNoBus, "err", err)
		return nil, fmt.Errorf("%w: no D-Bus session bus: %w", ErrUnavailable, err)
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		bc.close()
		return nil, ErrClosed
	}
	n.bus, n.server = bc, nil
	n.epoch++
	n.shown.reset()
	n.listeners.Add(1)
	n.mu.Unlock()
	go n.listen(bc)
	return bc, nil
}

// dial opens a private, authenticated connection to the bus at addr, or
// to the session bus if addr is empty, and gives up when ctx ends: a bus
// socket whose daemon hangs must not hang the caller.
func dial(ctx context.Context, addr string) (*busConn, error) {
	// The connection lives until bc.close, not until ctx ends; but while
	// connecting, ctx ending closes it, which unblocks the handshake.
	life, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, cancel)
	var conn *dbus.Conn
	var err error
	if addr == "" {
		// Never autolaunch a bus (dbus-launch): it would outlive the
		// daemon and serve nobody.
		conn, err = dbus.SessionBusPrivateNoAutoStartup(dbus.WithContext(life))
	} else {
		conn, err = dbus.Dial(addr, dbus.WithContext(life))
	}
	if err == nil {
		if err = conn.Auth(nil); err == nil {
			err = conn.Hello()
		}
	}
	if !stop() {
		err = fmt.Errorf("connecting to the session bus: %w", ctx.Err())
	}
	if err != nil {
		cancel()
		if conn != nil {
			conn.Close()
		}
		return nil, err
	}
	return &busConn{conn: conn, signals: make(chan *dbus.Signal, 32), cancel: cancel}, nil
}

// subscribe asks the bus for the signals of the notification server and
// for changes of its owner.
func subscribe(ctx context.Context, bc *busConn) error {
	bc.conn.Signal(bc.signals)
	err := bc.conn.AddMatchSignalContext(ctx,
		dbus.WithMatchSender(fdoName), dbus.WithMatchObjectPath(fdoPath), dbus.WithMatchInterface(fdoIface))
	if err != nil {
		return fmt.Errorf("subscribing to notification signals: %w", err)
	}
	err = bc.conn.AddMatchSignalContext(ctx,
		dbus.WithMatchSender(busDaemon), dbus.WithMatchInterface(busDaemon),
		dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchArg(0, fdoName))
	if err != nil {
		return fmt.Errorf("subscribing to notification server changes: %w", err)
	}
	return nil
}

// probe returns what the notification server offers, asking it if it has
// not been asked since it (or the connection) changed. Asking by its
// well-known name lets the bus start an activatable server. The caller
// holds n.turn.
func (n *Notifier) probe(ctx context.Context, bc *busConn) (*server, error) {
	// A server that has just started announces itself (NameOwnerChanged)
	// while being asked, which spoils that answer; ask again.
	const attempts = 3
	for range attempts {
		n.mu.Lock()
		srv, epoch := n.server, n.epoch
		n.mu.Unlock()
		if srv != nil {
			return srv, nil
		}
		srv, info, err := ask(ctx, bc)
		if err != nil {
			return nil, n.failed(bc, err)
		}
		n.mu.Lock()
		current := n.epoch == epoch
		if current {
			n.server = srv
		}
		n.mu.Unlock()
		if current {
			n.status.on(info...)
			return srv, nil
		}
	}
	return nil, fmt.Errorf("%w: the notification server keeps changing", ErrUnavailable)
}

// ask asks the notification server what it offers and who it is. info is
// for the log.
func ask(ctx context.Context, bc *busConn) (srv *server, info []any, err error) {
	obj := bc.conn.Object(fdoName, fdoPath)
	var caps []string
	if err := obj.CallWithContext(ctx, fdoIface+".GetCapabilities", 0).Store(&caps); err != nil {
		return nil, nil, err
	}
	srv = &server{markup: slices.Contains(caps, "body-markup"), inlineReply: slices.Contains(caps, "inline-reply")}
	if err := bc.conn.BusObject().CallWithContext(ctx, busDaemon+".GetNameOwner", 0, fdoName).Store(&srv.owner); err != nil {
		return nil, nil, err
	}
	// Only for the log: a server that lacks it still shows notifications.
	var name, vendor, version, spec string
	err = obj.CallWithContext(ctx, fdoIface+".GetServerInformation", 0).Store(&name, &vendor, &version, &spec)
	if err != nil && ctx.Err() != nil {
		return nil, nil, err
	}
	return srv, []any{"server", name, "version", version, "capabilities", caps}, nil
}

// failed sorts out why a call to the bus failed, notes it, and returns
// the error to report.
func (n *Notifier) failed(bc *busConn, err error) error {
	n.mu.Lock()
	closed := n.closed
	n.mu.Unlock()
	var dErr dbus.Error
	switch {
	case closed:
		return ErrClosed
	case errors.Is(err, context.Canceled):
		return err
	case !bc.conn.Connected():
		n.dropBus(bc)
		n.status.off(condNoBus, "err", err)
		return fmt.Errorf("%w: lost the session bus: %w", ErrUnavailable, err)
	case errors.Is(err, context.DeadlineExceeded):
		n.status.off(condNoAnswer, "timeout", n.opt.CallTimeout)
		return fmt.Errorf("%w: the notification server did not answer: %w", ErrUnavailable, err)
	case errors.As(err, &dErr) && slices.Contains(noServerErrors, dErr.Name):
		n.serverGone(bc)
		n.status.off(condNoServer)
		return fmt.Errorf("%w: no notification server: %w", ErrUnavailable, err)
	case errors.As(err, &dErr) && dErr.Name == "org.freedesktop.DBus.Error.NoReply":
		// The server left, or hung for longer than the bus waits.
		n.serverGone(bc)
		n.status.off(condNoAnswer, "err", err)
		return fmt.Errorf("%w: the notification server did not answer: %w", ErrUnavailable, err)
	}
	return fmt.Errorf("notification server: %w", err)
}

// serverGone forgets the server and its notifications: a new one must be
// asked again, and the old ids mean nothing to it.
func (n *Notifier) serverGone(bc *busConn) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.bus == bc {
		n.server = nil
		n.epoch++
		n.shown.reset()
	}
}

// dropBus forgets the connection bc, if it is the current one, and closes
// it. It reports whether bc was current.
func (n *Notifier) dropBus(bc *busConn) bool {
	n.mu.Lock()
	current := n.bus == bc
	if current {
		n.bus, n.server = nil, nil
		n.epoch++
		n.shown.reset()
	}
	n.mu.Unlock()
	bc.close()
	return current
}
