//go:build linux || freebsd || netbsd || openbsd || dragonfly

package notifier

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/godbus/dbus/v5"

	"github.com/sunoye/sunoye/rooms"
)

// The names of the Desktop Notifications Specification
// (https://specifications.freedesktop.org/notification-spec/).
const (
	fdoName  = "org.freedesktop.Notifications"
	fdoPath  = dbus.ObjectPath("/org/freedesktop/Notifications")
	fdoIface = "org.freedesktop.Notifications"

	// desktopEntry names sunoye.desktop, from which servers take the
	// application's name and icon, and which they use for per-app rules.
	desktopEntry = "sunoye"
)

// Notifier shows desktop notifications over D-Bus. It is safe for
// concurrent use.
type Notifier struct {
	opt    Options
	log    *slog.Logger
	status status

	// turn lets one Notify at a time use the bus, so that two messages of
	// a room cannot race to the same replaces_id, and a lost connection is
	// re-established once. Waiting for it honours the caller's context.
	turn chan struct{}

	callbacks chan func() // clicks and replies, run in order by runCallbacks
	done      chan struct{}
	listeners sync.WaitGroup

	mu     sync.Mutex
	closed bool
	bus    *busConn // nil while not connected
	server *server  // the notification server now; nil until probed
	epoch  uint64   // counts changes of server or bus, so a stale probe is not stored
	shown  shown
}

// server is what the notification server on the bus offers.
type server struct {
	// owner is its unique bus name: signals from anyone else are ignored.
	owner string
	// markup: the server reads the body as markup, which must be escaped.
	markup bool
	// inlineReply: the server can take an answer in the notification.
	inlineReply bool
}

// New returns a Notifier. It connects to the session bus and asks the
// notification server what it can do, within ctx and opt.CallTimeout, and
// logs whether notifications work. A missing bus or server is not an
// error: the Notifier keeps trying with each message. New fails only on
// invalid options.
func New(ctx context.Context, opt Options) (*Notifier, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	n := &Notifier{
		opt:       opt,
		log:       opt.Logger,
		status:    status{log: opt.Logger},
		turn:      make(chan struct{}, 1),
		callbacks: make(chan func(), 16),
		done:      make(chan struct{}),
	}
	go n.runCallbacks()
	ctx, cancel := context.WithTimeout(ctx, opt.CallTimeout)
	defer cancel()
	n.turn <- struct{}{}
	if bc, err := n.connection(ctx); err == nil {
		n.probe(ctx, bc) // its failure is logged; the next Notify tries again
	}
	<-n.turn
	return n, nil
}

// Notify shows a notification for an incoming message, replacing the
// room's notification still on screen and counting the messages it
// stands for. It returns within opt.CallTimeout (or ctx) whatever the
// server does; the error wraps ErrUnavailable when notifications cannot
// be shown now.
func (n *Notifier) Notify(ctx context.Context, note rooms.Notification) error {
	ctx, cancel := context.WithTimeout(ctx, n.opt.CallTimeout)
	defer cancel()
	select {
	case n.turn <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("notify room %s: waiting for the previous notification: %w", note.Room, ctx.Err())
	}
	defer func() { <-n.turn }()

	bc, err := n.connection(ctx)
	if err != nil {
		return fmt.Errorf("notify room %s: %w", note.Room, err)
	}
	srv, err := n.probe(ctx, bc)
	if err != nil {
		return fmt.Errorf("notify room %s: %w", note.Room, err)
	}
	actions := []string{"default", "Open"}
	hints := map[string]dbus.Variant{
		"category":      dbus.MakeVariant("im.received"),
		"desktop-entry": dbus.MakeVariant(desktopEntry),
		"urgency":       dbus.MakeVariant(byte(1)), // normal
	}
	if srv.inlineReply {
		actions = append(actions, "inline-reply", "Reply")
		hints["x-kde-reply-placeholder-text"] = dbus.MakeVariant("Reply to room " + string(note.Room))
	}
	n.mu.Lock()
	replaces, count := n.shown.next(note.Room)
	n.shown.begin()
	epoch := n.epoch
	n.mu.Unlock()

	var id uint32
	call := bc.conn.Object(fdoName, fdoPath).CallWithContext(ctx, fdoIface+".Notify", 0,
		n.opt.AppName, replaces, n.opt.Icon,
		summary(note.Sender, note.Room, count, note.Mention), body(note.Text, srv.markup),
		actions, hints, int32(-1))
	err = call.Store(&id)
	n.mu.Lock()
	var acts []signal
	if err != nil || n.epoch != epoch {
		acts = n.shown.abort()
	} else {
		acts = n.shown.end(note.Room, id, count, uint64(call.ResponseSequence))
	}
	for _, sig := range acts {
		n.act(sig)
	}
	n.mu.Unlock()
	if err != nil {
		return fmt.Errorf("notify room %s: %w", note.Room, n.failed(bc, err))
	}
	n.status.on()
	n.log.Debug("notified", "room", note.Room, "id", id, "replaces", replaces, "count", count)
	return nil
}

// Withdraw closes the room's notification, if one is on screen: the user
// has read the room elsewhere (its chat window got the focus). The next
// message starts a new notification and a new count.
func (n *Notifier) Withdraw(ctx context.Context, room rooms.ID) error {
	ctx, cancel := context.WithTimeout(ctx, n.opt.CallTimeout)
	defer cancel()
	select {
	case n.turn <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("withdraw notification of room %s: %w", room, ctx.Err())
	}
	defer func() { <-n.turn }()

	n.mu.Lock()
	bc, e := n.bus, n.shown.byRoom[room]
	n.mu.Unlock()
	if bc == nil || e == nil {
		return nil
	}
	err := bc.conn.Object(fdoName, fdoPath).CallWithContext(ctx, fdoIface+".CloseNotification", 0, e.id).Err
	if err != nil {
		return fmt.Errorf("withdraw notification of room %s: %w", room, n.failed(bc, err))
	}
	// The server confirms with NotificationClosed; forget it now anyway,
	// so that a message arriving before the signal starts afresh.
	n.mu.Lock()
	n.shown.forget(room)
	n.mu.Unlock()
	return nil
}

// Close disconnects from the bus. Notifications on screen stay, but
// clicking them does nothing. Close does not wait for an OnOpen or
// OnReply call in progress.
func (n *Notifier) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	bc := n.bus
	n.bus, n.server = nil, nil
	n.mu.Unlock()
	close(n.done)
	if bc != nil {
		bc.close()
	}
	n.listeners.Wait()
	return nil
}

// callback queues f to run after the clicks and replies before it. It
// never blocks the signal loop: if the daemon does not keep up, the click
// is dropped, and logged.
func (n *Notifier) callback(what string, f func()) {
	select {
	case n.callbacks <- f:
	default:
		n.log.Warn("notification "+what+" dropped: earlier ones are still being handled", "queued", cap(n.callbacks))
	}
}

func (n *Notifier) runCallbacks() {
	for {
		select {
		case f := <-n.callbacks:
			f()
		case <-n.done:
			return
		}
	}
}
