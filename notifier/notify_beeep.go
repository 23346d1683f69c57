//go:build !(linux || freebsd || netbsd || openbsd || dragonfly || windows)

package notifier

import (
	"context"
	"os"
	"sync/atomic"

	"github.com/gen2brain/beeep"

	"github.com/sunoye/sunoye/rooms"
)

// Notifier shows plain desktop notifications through beeep (macOS
// notifications; Windows has notify_windows.go). They cannot be clicked through to the
// chat window, replaced or answered: OnOpen and OnReply are never called.
// It is safe for concurrent use.
type Notifier struct {
	opt    Options
	icon   string
	status status
	// busy is set while a beeep call runs. beeep cannot be cancelled, so
	// a call that hangs is left behind when Notify returns, and no second
	// one is started beside it.
	busy   atomic.Bool
	closed atomic.Bool
}

// New returns a Notifier. It fails only on invalid options.
func New(ctx context.Context, opt Options) (*Notifier, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	beeep.AppName = opt.AppName
	n := &Notifier{opt: opt, status: status{log: opt.Logger}}
	// beeep takes a file, not an icon theme name.
	if fi, err := os.Stat(opt.Icon); err == nil && fi.Mode().IsRegular() {
		n.icon = opt.Icon
	}
	return n, nil
}

// Notify shows a notification for an incoming message. It returns within
// opt.CallTimeout (or ctx) whatever the system does.
func (n *Notifier) Notify(ctx context.Context, note rooms.Notification) error {
	if n.closed.Load() {
		return ErrClosed
	}
	return showBounded(ctx, &n.busy, &n.status, n.opt.CallTimeout, note.Room, func() error {
		return beeep.Notify(summary(note.Sender, note.Room, 1, note.Mention), body(note.Text, false), n.icon)
	})
}

// Withdraw does nothing: beeep cannot take a notification back.
func (n *Notifier) Withdraw(ctx context.Context, room rooms.ID) error { return nil }

// Close makes later Notify calls fail with ErrClosed.
func (n *Notifier) Close() error {
	n.closed.Store(true)
	return nil
}
