package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/sunoye/sunoye/chatview"
	"github.com/sunoye/sunoye/notifier"
	"github.com/sunoye/sunoye/rooms"
	"github.com/sunoye/sunoye/tray"
	"github.com/sunoye/sunoye/web"
)

// replyTimeout bounds sending an inline reply from a notification.
const replyTimeout = 30 * time.Second

// desktop is the daemon's face: the chat UI on loopback, the chat windows,
// and (unless headless) notifications and the tray icon.
type desktop struct {
	svc     *rooms.Service
	ui      *web.UI
	windows *chatview.Manager
	log     *slog.Logger
}

// startUI serves the chat UI and lets the local API open windows onto it.
// Headless daemons serve it too: `sunoye open --url` gives a browser a
// link to it.
func startUI(ctx context.Context, svc *rooms.Service, api *web.Server, st settings, log *slog.Logger) (*desktop, error) {
	ui, err := web.NewUI(svc, api, settingsView(web.UIOptions{Logger: log.With("component", "ui")}, svc, st))
	if err != nil {
		return nil, fmt.Errorf("chat UI: %w", err)
	}
	go func() {
		if err := ui.Serve(ctx); err != nil {
			log.Error("chat UI stopped", "err", err)
		}
	}()
	win := windowCommand()
	if win == nil {
		log.Info("no sunoye-window beside sunoye: chat windows open in the default browser")
	}
	d := &desktop{
		svc: svc, ui: ui, log: log,
		windows: chatview.NewManager(chatview.Options{
			Command: win, Logger: log.With("component", "windows"),
			Origin: ui.Origin(), Linger: windowLinger(log),
		}),
	}
	api.SetOpener(d.open)
	api.SetLauncher(ui.LaunchURL)
	return d, nil
}

// open shows view in its window: one window per room (its quick-reply
// and full views share it), one per form. A title names what the window
// shows, then the application, as desktops list windows.
func (d *desktop) open(ctx context.Context, v web.View) error {
	key, title := v.String(), "SunOye"
	switch v.Kind {
	case web.ViewRoom, web.ViewQuick:
		key, title = "room/"+string(v.Room), "Room "+string(v.Room)+" — SunOye"
	case web.ViewLeave:
		// A window of its own: the room's, if open, would only come to
		// the front, without the question.
		title = "Leave room " + string(v.Room) + "? — SunOye"
	case web.ViewCreate:
		title = "Create a room — SunOye"
	case web.ViewJoin:
		title = "Join a room — SunOye"
	case web.ViewSettings:
		title = "Settings — SunOye"
	}
	err := d.windows.Open(ctx, key, title, func() string { return d.ui.LaunchURL(v) })
	if errors.Is(err, chatview.ErrNoDisplay) {
		return fmt.Errorf("%w: %w", web.ErrNoWindow, err)
	}
	return err
}

// The tray's Opener.

func (d *desktop) OpenRoom(id rooms.ID) error { return d.open(context.Background(), web.RoomView(id)) }
func (d *desktop) OpenCreate() error {
	return d.open(context.Background(), web.View{Kind: web.ViewCreate})
}
func (d *desktop) OpenJoin() error { return d.open(context.Background(), web.View{Kind: web.ViewJoin}) }
func (d *desktop) OpenSettings() error {
	return d.open(context.Background(), web.View{Kind: web.ViewSettings})
}
func (d *desktop) OpenLeave(id rooms.ID) error {
	return d.open(context.Background(), web.LeaveView(id))
}

// startNotifier shows a desktop notification for each message the Service
// decides the user should hear about; a click opens the room's quick
// reply, an inline reply (KDE) is sent. Without a notification server it
// logs so once and carries on.
func (d *desktop) startNotifier(ctx context.Context) (stop func()) {
	nf, err := notifier.New(ctx, notifier.Options{
		Logger: d.log.With("component", "notifications"),
		OnOpen: func(id rooms.ID) {
			if err := d.open(context.Background(), web.QuickView(id)); err != nil {
				d.log.Warn("open the room from a notification", "room", id, "err", err)
			}
		},
		OnReply: func(id rooms.ID, text string) {
			sctx, cancel := context.WithTimeout(context.Background(), replyTimeout)
			defer cancel()
			if _, err := d.svc.Send(sctx, id, text); err != nil {
				d.log.Warn("reply from a notification", "room", id, "err", err)
			}
		},
	})
	if err != nil {
		d.log.Warn("notifications off", "err", err)
		return func() {}
	}
	d.svc.SetNotifier(prewarming{nf, d.windows, d.log})
	return func() {
		d.svc.SetNotifier(nil)
		nf.Close()
	}
}

// prewarming starts the window process when a notification is shown, so
// that its click finds it ready (the window then shows in a fraction of
// the time of a cold start); without a click it goes again after its
// linger. Embedding keeps the Notifier's Withdraw.
type prewarming struct {
	*notifier.Notifier
	windows *chatview.Manager
	log     *slog.Logger
}

func (p prewarming) Notify(ctx context.Context, n rooms.Notification) error {
	err := p.Notifier.Notify(ctx, n)
	if err == nil {
		go func() {
			if err := p.windows.Prewarm(context.Background()); err != nil {
				p.log.Warn("start the window process", "err", err)
			}
		}()
	}
	return err
}

// runTray shows the tray icon until ctx ends; Quit cancels the daemon.
func (d *desktop) runTray(ctx context.Context, quit func()) {
	err := tray.Run(ctx, tray.Options{Service: d.svc, Windows: d, Quit: quit, Logger: d.log.With("component", "tray")})
	if err != nil {
		d.log.Warn("tray icon", "err", err)
	}
}

// windowsCloseTimeout is how long the chat windows get to quit at the
// daemon's stop before they are killed: they hold nothing to save, and the
// stop must stay quick (see shutdownTimeout).
const windowsCloseTimeout = 300 * time.Millisecond

// close closes the chat windows.
func (d *desktop) close() {
	ctx, cancel := context.WithTimeout(context.Background(), windowsCloseTimeout)
	defer cancel()
	d.windows.Close(ctx)
}

// lingerEnv sets how long the window process stays after its last window
// closed (a Go duration, e.g. 30s); default chatview.DefaultLinger. Tests
// shorten it.
const lingerEnv = "SUNOYE_WINDOW_LINGER"

func windowLinger(log *slog.Logger) time.Duration {
	v := os.Getenv(lingerEnv)
	if v == "" {
		return chatview.DefaultLinger
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		log.Warn("$"+lingerEnv+" is not a positive duration; using the default", "value", v, "default", chatview.DefaultLinger)
		return chatview.DefaultLinger
	}
	return d
}

// windowProgram is the window binary, installed beside sunoye.
const windowProgram = "sunoye-window"

// windowCommand finds sunoye-window (see companion). Without it, windows
// are browser tabs.
func windowCommand() []string {
	if p := companion(windowProgram); p != "" {
		return []string{p}
	}
	return nil
}

// libexecDir is where a package installs the companions, relative to
// the directory of sunoye: /usr/bin/sunoye finds them in
// /usr/libexec/sunoye, out of everyone's PATH (people never run them).
const libexecDir = "../libexec/sunoye"

// companion finds one of the programs installed with sunoye: beside this
// binary (a build tree, bin/), else in libexecDir (a package), else on
// PATH; "" if none has it.
func companion(name string) string {
	if exe, err := os.Executable(); err == nil {
		if p := companionBeside(exe, name); p != "" {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil { // PATHEXT on Windows
		return p
	}
	return ""
}

// companionBeside looks for name beside exe, then in exe's libexecDir.
func companionBeside(exe, name string) string {
	dir := filepath.Dir(exe)
	for _, d := range []string{dir, filepath.Join(dir, libexecDir)} {
		if p := besideProgram(d, name, runtime.GOOS); p != "" {
			return p
		}
	}
	return ""
}

// besideProgram is the program name in dir if it is there and can be run
// on goos: on Windows name.exe (execute bits mean nothing there), else
// name with an execute bit.
func besideProgram(dir, name, goos string) string {
	if goos == "windows" {
		name += ".exe"
	}
	p := filepath.Join(dir, name)
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() || (goos != "windows" && fi.Mode()&0o111 == 0) {
		return ""
	}
	return p
}
