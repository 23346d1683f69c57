package notifier

import (
	"context"
	"os"
	"sync"
	"sync/atomic"

	toast "git.sr.ht/~jackmordaunt/go-toast"

	"github.com/sunoye/sunoye/rooms"
)

// toastGUID names SunOye's toast activation callback (a COM class) to
// Windows; go-toast registers it in HKCU and in the process.
const toastGUID = "{5B0E3A64-6C9B-4E8B-9E33-3F0B7C1D2A51}"

// Notifier shows Windows toasts (git.sr.ht/~jackmordaunt/go-toast, which
// beeep uses too). Clicking one opens the room (OnOpen), and its Reply
// box sends to the room (OnReply), while the daemon runs: the callback
// is a COM class registered by this process. A toast clicked in the
// Action Center after the daemon stopped does nothing. Toasts cannot be
// withdrawn. It is safe for concurrent use.
type Notifier struct {
	opt    Options
	icon   string
	status status
	busy   atomic.Bool
	closed atomic.Bool
	// clicks carries activations to the goroutine that runs the
	// callbacks, one after another; closing stop ends it.
	clicks   chan activation
	stop     chan struct{}
	stopOnce sync.Once
}

// New returns a Notifier. It fails only on invalid options.
func New(ctx context.Context, opt Options) (*Notifier, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	n := &Notifier{opt: opt, status: status{log: opt.Logger}, clicks: make(chan activation, 16), stop: make(chan struct{})}
	// Toasts take an image file, not an icon theme name.
	if fi, err := os.Stat(opt.Icon); err == nil && fi.Mode().IsRegular() {
		n.icon = opt.Icon
	}
	if err := toast.SetAppData(toast.AppData{AppID: opt.AppName, GUID: toastGUID, IconPath: n.icon}); err != nil {
		// Toasts still show (PowerShell fallback), without clicks.
		opt.Logger.Warn("toast clicks off: registering the app", "err", err)
	}
	toast.SetActivationCallback(func(args string, data []toast.UserData) {
		inputs := map[string]string{}
		for _, d := range data {
			inputs[d.Key] = d.Value
		}
		a, ok := parseActivation(args, inputs)
		if !ok || n.closed.Load() {
			return
		}
		select {
		case n.clicks <- a:
		default: // a burst of clicks: the window is opening already
		}
	})
	go n.deliver()
	return n, nil
}

func (n *Notifier) deliver() {
	for {
		select {
		case <-n.stop:
			return
		case a := <-n.clicks:
			switch {
			case a.reply && n.opt.OnReply != nil:
				n.opt.OnReply(a.room, a.text)
			case !a.reply && n.opt.OnOpen != nil:
				n.opt.OnOpen(a.room)
			}
		}
	}
}

// Notify shows a toast for an incoming message. It returns within
// opt.CallTimeout (or ctx) whatever the system does.
func (n *Notifier) Notify(ctx context.Context, note rooms.Notification) error {
	if n.closed.Load() {
		return ErrClosed
	}
	t := toastFor(n.opt.AppName, n.icon, note)
	return showBounded(ctx, &n.busy, &n.status, n.opt.CallTimeout, note.Room, t.Push)
}

// toastFor is the toast of a message: a click opens the room, and a
// Reply box sends to it.
func toastFor(app, icon string, note rooms.Notification) *toast.Notification {
	return &toast.Notification{
		AppID:               app,
		Title:               summary(note.Sender, note.Room, 1, note.Mention),
		Body:                body(note.Text, false),
		Icon:                icon,
		ActivationType:      toast.Foreground,
		ActivationArguments: openArgs + string(note.Room),
		Inputs:              []toast.Input{{ID: replyInput, Placeholder: "Reply"}},
		Actions:             []toast.Action{{Type: toast.Foreground, Content: "Reply", Arguments: replyArgs + string(note.Room)}},
	}
}

// Withdraw does nothing: toasts cannot be taken back through go-toast.
func (n *Notifier) Withdraw(ctx context.Context, room rooms.ID) error { return nil }

// Close makes later Notify calls fail with ErrClosed and ignores clicks.
func (n *Notifier) Close() error {
	n.closed.Store(true)
	n.stopOnce.Do(func() { close(n.stop) })
	return nil
}
