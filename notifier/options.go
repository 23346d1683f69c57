package notifier

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sunoye/sunoye/rooms"
)

// A Notifier is what rooms.Service needs.
var (
	_ rooms.Notifier   = (*Notifier)(nil)
	_ rooms.Withdrawer = (*Notifier)(nil)
)

// DefaultCallTimeout bounds one Notify, all its D-Bus calls together,
// unless Options say otherwise. Notification servers answer in about a
// millisecond; one that takes seconds is hung.
const DefaultCallTimeout = 2 * time.Second

// Defaults of Options.
const (
	DefaultAppName = "SunOye"
	// DefaultIcon is the icon name that the desktop integration installs
	// into the hicolor theme.
	DefaultIcon = "sunoye"
)

// Errors that Notify returns, wrapped with the reason.
var (
	// ErrUnavailable means that notifications cannot be shown right now:
	// no session bus, no notification server, or one that does not
	// answer. The next Notify tries again.
	ErrUnavailable = errors.New("desktop notifications unavailable")
	// ErrClosed means that the Notifier was closed.
	ErrClosed = errors.New("notifier closed")
)

// Options configure a Notifier. The zero value is usable: notifications
// then do nothing when clicked.
type Options struct {
	// OnOpen is called when the user clicks a room's notification: the
	// daemon opens that room's quick-reply window. Like OnReply it runs on
	// a goroutine of the Notifier, one call after another, in the order
	// of the clicks; it should not block for long.
	OnOpen func(room rooms.ID)
	// OnReply is called with the text the user typed into a
	// notification's inline reply field, where the notification server
	// offers one (KDE Plasma): the daemon sends it to the room.
	OnReply func(room rooms.ID, text string)
	// AppName names the application to the notification server; default
	// DefaultAppName.
	AppName string
	// Icon is an icon name from the icon theme or an absolute path;
	// default DefaultIcon.
	Icon string
	// Logger receives one line whenever notifications stop or start
	// working, never message text or names above debug level; default
	// slog.Default().
	Logger *slog.Logger
	// CallTimeout bounds each Notify (and the connection to the bus);
	// default DefaultCallTimeout.
	CallTimeout time.Duration
	// BusAddress is the D-Bus address to use instead of the session bus
	// named by DBUS_SESSION_BUS_ADDRESS, for tests. Ignored where
	// notifications do not go over D-Bus.
	BusAddress string
}

// withDefaults fills in the zero fields of o.
func (o Options) withDefaults() (Options, error) {
	if o.CallTimeout < 0 {
		return o, fmt.Errorf("notifier: negative call timeout %v", o.CallTimeout)
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	if o.AppName == "" {
		o.AppName = DefaultAppName
	}
	if o.Icon == "" {
		o.Icon = DefaultIcon
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}
