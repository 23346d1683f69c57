package tray

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atotto/clipboard"

	"github.com/sunoye/sunoye/rooms"
)

// Opener opens SunOye's windows. The tray calls it from a goroutine of
// its own, one call at a time; a call should return once the window is
// showing (or focused, if it already was), not when it closes.
type Opener interface {
	// OpenRoom opens, or focuses, the chat window of a joined room.
	OpenRoom(id rooms.ID) error
	// OpenCreate opens the form that creates a room.
	OpenCreate() error
	// OpenJoin opens the form that joins a room.
	OpenJoin() error
	// OpenSettings opens the settings (display name, broker, database).
	OpenSettings() error
	// OpenLeave opens a joined room's window asking whether to leave it,
	// and leaves it if the user says so. Leave uses it for a room that
	// leaving would close (rooms.RoomInfo.LastMember).
	OpenLeave(id rooms.ID) error
}

// Options configure Run.
type Options struct {
	// Service is the daemon's rooms; required.
	Service *rooms.Service
	// Windows opens the chat window and the forms. Without it those
	// entries log that there is no window to open.
	Windows Opener
	// Quit is called, once, when Quit is clicked: the daemon leaves every
	// room cleanly and exits. It is called on a goroutine of its own, so it
	// may wait for Run to return.
	Quit func()
	// Clipboard puts text on the clipboard; nil means the system clipboard
	// (github.com/atotto/clipboard: xclip, xsel or wl-copy on Linux).
	Clipboard func(text string) error
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Timeouts of the work a click starts.
const (
	// actionTimeout bounds a click's call into the Service: leaving with
	// the broker away waits for its connect timeout.
	actionTimeout = 30 * time.Second
	// stopTimeout bounds taking the icon down when Run ends.
	stopTimeout = 5 * time.Second
	// minUpdateInterval spaces menu updates: a burst of messages becomes
	// one update, not one D-Bus signal storm per message.
	minUpdateInterval = 100 * time.Millisecond
	// hostSettle is how long a tray host that appeared must stay before
	// the menu is made anew for it.
	hostSettle = time.Second
	// submenuDelay is how long the rooms' entries wait for their submenus
	// after the menu was made anew (see menu.remake): a host that is told
	// of a change looks within milliseconds.
	submenuDelay = 500 * time.Millisecond
	// eventBuffer is the Service subscription's buffer; a tray that falls
	// further behind subscribes again and reads the state afresh.
	eventBuffer = 256
)

// started is set once a tray has run: fyne's systray keeps its state in
// globals that cannot be reset, so its loop runs once per process.
var started atomic.Bool

// ErrStarted is returned by Run when a tray has already run in the
// process.
var ErrStarted = errors.New("tray: the tray runs only once per process")

// Run shows the tray icon and menu until ctx ends or Quit is clicked,
// then takes them down and returns nil.
//
// If the icon cannot be shown because there is no D-Bus session bus, Run
// logs that once and waits for ctx without touching the tray. If there is
// a bus but no tray host on it (GNOME without the AppIndicator
// extension), Run logs that once and runs anyway: the icon appears when a
// host starts. In both cases everything else SunOye does goes on.
//
// The tray runs once per process (the systray library's state is global
// and cannot be reset); Run returns ErrStarted when called again. On macOS, where
// that library needs the main thread, Run returns an error.
func Run(ctx context.Context, opt Options) error {
	if opt.Service == nil {
		return errors.New("tray: Options.Service is nil")
	}
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	if runtime.GOOS == "darwin" {
		return errors.New("tray: not supported on macOS yet")
	}
	if err := checkBus(ctx); err != nil {
		log.Warn(fmt.Sprintf("tray icon cannot be shown: %v; SunOye keeps running, and the CLI and chat windows keep working", err))
		<-ctx.Done()
		return nil
	}
	if !started.CompareAndSwap(false, true) {
		return ErrStarted
	}
	if ok, err := HostPresent(ctx); err == nil && !ok {
		log.Warn(NoHostHint)
	}
	t := newTray(opt, log)
	return t.run(ctx)
}

// tray is one run of the tray.
type tray struct {
	svc  *rooms.Service
	opt  Options
	log  *slog.Logger
	menu *menu

	svcQ, uiQ *queue
	quitting  chan struct{}
	quitOnce  sync.Once
	// newHost is signalled when a tray host appears: the menu is made anew
	// for it (see menu.renew).
	newHost chan struct{}
}

func newTray(opt Options, log *slog.Logger) *tray {
	if opt.Clipboard == nil {
		opt.Clipboard = clipboard.WriteAll
	}
	return &tray{
		svc:      opt.Service,
		opt:      opt,
		log:      log,
		svcQ:     newQueue("rooms", log),
		uiQ:      newQueue("windows", log),
		quitting: make(chan struct{}),
		newHost:  make(chan struct{}, 1),
	}
}

func (t *tray) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var sys systrayBackend
	t.menu = newMenu(sys, t.handlers(), t.log, ctx.Done())
	go t.svcQ.run(ctx)
	go t.uiQ.run(ctx)
	go keepRegistered(ctx, t.log, func() {
		select {
		case t.newHost <- struct{}{}:
		default: // one renewal pending is enough
		}
	})

	// Subscribe before the first look at the rooms, so that no change
	// falls between the two.
	events, unsubscribe := t.svc.Subscribe(eventBuffer)
	defer func() { unsubscribe() }()

	ready := make(chan struct{})
	onReady := func() {
		t.menu.build(initialSlots)
		t.menu.update(t.svc.Rooms(), t.svc.DoNotDisturb())
		close(ready)
	}
	// The title is the item's name for hosts (its Id too, as it is set
	// before the item is exported); the state goes in the tooltip.
	sys.SetTitle(appName)
	if icon, err := iconFor(iconState{}); err == nil {
		sys.SetIcon(icon)
	}
	sys.SetTooltip(appName)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		// The tray's loop wants a thread of its own on Windows; on Linux it
		// is D-Bus only, and this goroutine merely waits in it.
		runtime.LockOSThread()
		defer func() {
			// systray's exit path dereferences its bus connection, which is
			// nil if the bus went away between checkBus and here: that must
			// not take the daemon down.
			if r := recover(); r != nil {
				t.log.Error("tray stopped with a panic", "panic", r)
			}
		}()
		sys.Run(onReady)
	}()
	defer func() {
		sys.Quit()
		select {
		case <-stopped:
		case <-time.After(stopTimeout):
			t.log.Warn("tray icon did not go away in time")
		}
	}()

	select {
	case <-ready:
	case <-ctx.Done():
		return nil
	}
	var (
		renew    <-chan time.Time // set while a new tray host settles
		submenus <-chan time.Time // set after the menu was made anew
	)
	if t.menu.submenusDue { // more rooms restored than the first slots hold
		submenus = time.After(submenuDelay)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.quitting:
			return nil
		case <-t.newHost:
			// Renew once the host has settled: it takes its name before it
			// serves its objects, and a host that fails at start may come
			// back at once.
			renew = time.After(hostSettle)
			continue
		case <-renew:
			renew = nil
			t.menu.renew(t.svc.Rooms(), t.svc.DoNotDisturb())
		case <-submenus:
			submenus = nil
			t.menu.addSubmenus()
			t.menu.update(t.svc.Rooms(), t.svc.DoNotDisturb())
		case _, ok := <-events:
			if !ok {
				// Cut off for falling behind: start over from the state.
				events, unsubscribe = t.svc.Subscribe(eventBuffer)
			}
		}
		// Let a burst arrive, then update once for all of it. (After a
		// renewal or the submenus, this update is one too many, and cheap:
		// it finds nothing to change.)
		select {
		case <-ctx.Done():
			return nil
		case <-t.quitting:
			return nil
		case <-time.After(minUpdateInterval):
		}
		events = t.drain(events, &unsubscribe)
		t.menu.update(t.svc.Rooms(), t.svc.DoNotDisturb())
		if t.menu.submenusDue && submenus == nil {
			submenus = time.After(submenuDelay)
		}
	}
}

// drain discards the events already queued: the update that follows
// reads the whole state anyway.
func (t *tray) drain(events <-chan rooms.Event, unsubscribe *func()) <-chan rooms.Event {
	for {
		select {
		case _, ok := <-events:
			if !ok {
				var ch <-chan rooms.Event
				ch, *unsubscribe = t.svc.Subscribe(eventBuffer)
				return ch
			}
		default:
			return events
		}
	}
}

// handlers turn clicks into queued work.
func (t *tray) handlers() handlers {
	opener := func(what string, open func(Opener) error) func() {
		return func() {
			t.uiQ.add(func(context.Context) {
				if t.opt.Windows == nil {
					t.log.Warn("tray: no window to open", "window", what)
					return
				}
				if err := open(t.opt.Windows); err != nil {
					t.log.Warn("tray: open window", "window", what, "err", err)
				}
			})
		}
	}
	onRoom := func(what string, f func(ctx context.Context, id rooms.ID) error) func(rooms.ID) {
		return func(id rooms.ID) {
			t.svcQ.add(func(ctx context.Context) {
				ctx, cancel := context.WithTimeout(ctx, actionTimeout)
				defer cancel()
				if err := f(ctx, id); err != nil {
					t.log.Warn("tray: "+what, "room", id, "err", err)
				}
			})
		}
	}
	return handlers{
		create:   opener("create", Opener.OpenCreate),
		join:     opener("join", Opener.OpenJoin),
		settings: opener("settings", Opener.OpenSettings),
		quit:     t.quit,
		dnd: func() {
			t.svcQ.add(func(context.Context) { t.svc.SetDoNotDisturb(!t.svc.DoNotDisturb()) })
		},
		open: func(id rooms.ID) {
			opener("room", func(o Opener) error { return o.OpenRoom(id) })()
		},
		invite: onRoom("copy invite", func(_ context.Context, id rooms.ID) error {
			inv, err := t.svc.InviteFor(id)
			if err != nil {
				return err
			}
			// The error, never the text: it holds the password.
			if err := t.opt.Clipboard(inv.String()); err != nil {
				return fmt.Errorf("clipboard: %w", err)
			}
			t.log.Info("tray: invite copied to the clipboard", "room", id)
			return nil
		}),
		notify: func(id rooms.ID, level rooms.NotifyLevel) {
			onRoom("notify "+string(level), func(_ context.Context, id rooms.ID) error {
				return t.svc.SetNotify(id, level)
			})(id)
		},
		leave: onRoom("leave", t.leave),
	}
}

// leave leaves room id at once, unless that would close the room: then
// the user is asked first, in the room's window (the tray's menu cannot
// ask), which leaves if they confirm. With no window to ask in, the room
// is not left.
func (t *tray) leave(ctx context.Context, id rooms.ID) error {
	info, err := t.svc.Room(id)
	if err != nil {
		return err
	}
	if !info.LastMember() {
		return t.svc.Leave(ctx, id)
	}
	t.log.Info("tray: leaving would close the room; asking first", "room", id)
	t.uiQ.add(func(context.Context) {
		if t.opt.Windows == nil {
			t.log.Warn("tray: room not left: leaving would close it, and there is no window to ask in; leave with 'sunoye leave ROOM --yes'", "room", id)
			return
		}
		if err := t.opt.Windows.OpenLeave(id); err != nil {
			t.log.Warn("tray: room not left: leaving would close it, and the window to ask in did not open; leave with 'sunoye leave ROOM --yes'", "room", id, "err", err)
		}
	})
	return nil
}

// quit ends Run and calls Options.Quit, once.
func (t *tray) quit() {
	t.quitOnce.Do(func() {
		t.log.Info("tray: Quit clicked")
		close(t.quitting)
		if t.opt.Quit != nil {
			go t.opt.Quit()
		}
	})
}
