package chatview

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sync"
	"time"
)

// ErrNoDisplay means there is no graphical session to open a window in.
var ErrNoDisplay = errors.New("no display: neither DISPLAY nor WAYLAND_DISPLAY is set")

// Defaults of Options.
const (
	// DefaultLinger is how long the window process stays after its last
	// window closed (or after a notification warmed it up): long enough
	// that the next click on a notification finds it, short enough that
	// an idle daemon soon gives its memory back.
	DefaultLinger = 3 * time.Minute
	// DefaultStartTimeout bounds the window process's start, until it
	// takes commands: GTK and WebKit load some 800 libraries, which takes
	// seconds on a slow, busy machine.
	DefaultStartTimeout = 20 * time.Second
	// DefaultReplyTimeout bounds every exchange with a running window
	// process: writing a command, and its first answer, which its main
	// loop gives at once. One that takes this long is hung, and is killed
	// so that the next open starts afresh.
	DefaultReplyTimeout = 5 * time.Second
	// DefaultShowTimeout bounds the wait for a window to show, once the
	// window process took the open: its web engine may have to start.
	DefaultShowTimeout = 30 * time.Second
)

// Options configure a Manager.
type Options struct {
	// Command is the program and arguments of the window process
	// (sunoye-window), which hosts every window. Without it, windows are
	// the default browser's.
	Command []string
	Logger  *slog.Logger
	// Origin is the chat UI's (http://127.0.0.1:PORT), if known: the
	// window process readies its web engine for it as it starts, and the
	// first window opens quicker.
	Origin string
	// Linger is how long the window process stays without a window;
	// default DefaultLinger.
	Linger time.Duration
	// StartTimeout, ReplyTimeout and ShowTimeout bound the window
	// process's start, its answers and a window's showing; defaults
	// DefaultStartTimeout, DefaultReplyTimeout and DefaultShowTimeout.
	StartTimeout, ReplyTimeout, ShowTimeout time.Duration
}

// Manager opens chat windows, one per key, all in one child process (the
// window host) that it starts on the first open and ends Linger after the
// last window closed.
type Manager struct {
	opt Options
	log *slog.Logger

	// opening serializes opens (and starts). It may be held for as long
	// as a window takes to show; mu, which guards the rest, only briefly,
	// so that Close never waits for an open.
	opening sync.Mutex
	mu      sync.Mutex
	host    *host
	closed  bool
}

// NewManager returns a Manager that runs windows with opt.Command.
func NewManager(opt Options) *Manager {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Linger <= 0 {
		opt.Linger = DefaultLinger
	}
	if opt.StartTimeout <= 0 {
		opt.StartTimeout = DefaultStartTimeout
	}
	if opt.ReplyTimeout <= 0 {
		opt.ReplyTimeout = DefaultReplyTimeout
	}
	if opt.ShowTimeout <= 0 {
		opt.ShowTimeout = DefaultShowTimeout
	}
	return &Manager{opt: opt, log: opt.Logger}
}

// HasDisplay reports whether a window can be shown. Only X11 and Wayland
// say so in the environment; elsewhere (Windows, macOS) there is a
// desktop whenever a user runs SunOye.
func HasDisplay() bool {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		return true
	}
	return os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != ""
}

// Open shows the window for key: it brings an open one to the front, or
// makes a new one at url (which is used only then; it carries a one-time
// token, so get a fresh one per call). It returns once the window is on
// the screen, or with an error; a window process that does not answer
// within the reply timeout is killed, so the next Open starts a new one.
func (m *Manager) Open(ctx context.Context, key, title string, url func() string) error {
	// A browser needs a display as much as a window does.
	if !HasDisplay() {
		return ErrNoDisplay
	}
	if len(m.opt.Command) == 0 {
		return OpenBrowser(url())
	}
	m.opening.Lock()
	defer m.opening.Unlock()
	// A window process that died or is ending (it lingered out) gets a
	// successor, once.
	for range 2 {
		h, err := m.running(ctx)
		if err != nil {
			return fmt.Errorf("open window %s: %w", key, err)
		}
		err = h.open(ctx, Command{Op: OpOpen, Key: key, Title: title, URL: url()})
		if errors.Is(err, errGone) {
			continue
		}
		if err != nil {
			return fmt.Errorf("open window %s: %w", key, err)
		}
		return nil
	}
	return fmt.Errorf("open window %s: the window process keeps exiting", key)
}

// Prewarm starts the window process, if there is none, and returns once
// it takes commands (or with an error): a notification is shown, and its
// click should find the window process ready. Without a window it goes
// Linger after the last Prewarm. If an open (or start) is in progress,
// it returns at once: that readies the process anyway. Callers that must
// not wait run it on a goroutine.
func (m *Manager) Prewarm(ctx context.Context) error {
	if len(m.opt.Command) == 0 || !HasDisplay() || !m.opening.TryLock() {
		return nil
	}
	defer m.opening.Unlock()
	h, err := m.running(ctx)
	if err == nil {
		h.idle() // the linger starts again
	}
	return err
}

// running returns the window process, started if need be, once it takes
// commands. m.opening is held.
func (m *Manager) running(ctx context.Context) (*host, error) {
	h, started, err := m.currentHost()
	if err != nil || !started {
		return h, err
	}
	ctx, cancel := context.WithTimeout(ctx, m.opt.StartTimeout)
	defer cancel()
	select {
	case <-h.ready:
		if m.opt.Origin != "" {
			if err := h.send(Command{Op: OpWarm, URL: m.opt.Origin}); err != nil {
				return nil, err
			}
		}
		h.idle() // in case nothing opens: it lingers out
		return h, nil
	case <-h.done:
		return nil, fmt.Errorf("the window process exited at its start: %v (its messages are in the daemon's log)", h.exitErr())
	case <-ctx.Done():
		h.kill()
		return nil, fmt.Errorf("the window process did not start within %v: %w", m.opt.StartTimeout, ctx.Err())
	}
}

// currentHost returns the live window process, or starts one (started).
func (m *Manager) currentHost() (h *host, started bool, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, false, errors.New("chat windows are closing")
	}
	if m.host != nil && m.host.alive() {
		return m.host, false, nil
	}
	if h, err = startHost(m.opt, m.log); err != nil {
		return nil, false, err
	}
	m.host = h
	return h, true, nil
}

// Windows lists the keys of the open windows.
func (m *Manager) Windows() []string {
	m.mu.Lock()
	h := m.host
	m.mu.Unlock()
	if h == nil {
		return nil
	}
	return h.windowKeys()
}

// PID returns the window process's id, or 0 if there is none.
func (m *Manager) PID() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.host == nil || !m.host.alive() {
		return 0
	}
	return m.host.cmd.Process.Pid
}

// Close closes every window and waits for the window process (or ctx,
// then kills it).
func (m *Manager) Close(ctx context.Context) {
	m.mu.Lock()
	m.closed = true
	h := m.host
	m.mu.Unlock()
	if h != nil {
		h.stop(ctx)
	}
}

// errGone means that the window process exited or is on its way out.
var errGone = errors.New("the window process is gone")

// host is the window process, as the daemon sees it.
type host struct {
	cmd    *exec.Cmd
	in     *os.File // its standard input: commands
	log    *slog.Logger
	linger time.Duration
	reply  time.Duration
	show   time.Duration
	ready  chan struct{} // closed at its EvReady
	done   chan struct{} // closed when it exited

	wmu sync.Mutex // one command at a time on in

	mu       sync.Mutex
	windows  map[string]bool
	acks     map[uint64]chan Event
	asked    map[uint64]string // the key of each open waiting for its answer
	nextID   uint64
	busy     int         // opens waiting for their answer
	timer    *time.Timer // the linger, while there is no window
	timerGen int         // which linger is the current one
	stopping bool        // no more commands: it is ending or ended
	waitErr  error
}

// startHost starts the window process.
func startHost(opt Options, log *slog.Logger) (*host, error) {
	cmd := exec.Command(opt.Command[0], opt.Command[1:]...)
	cmd.Env = append(os.Environ(), HostEnv+"=1")
	cmd.Stderr = os.Stderr
	// Plain pipes, not exec's StdoutPipe: Wait then does not wait for
	// them, so the process's exit is seen even if one of its children
	// still held one.
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start the window process: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, fmt.Errorf("start the window process: %w", err)
	}
	cmd.Stdin, cmd.Stdout = inR, outW
	err = cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("start the window process: %w", err)
	}
	h := &host{
		cmd: cmd, in: inW, log: log, linger: opt.Linger, reply: opt.ReplyTimeout, show: opt.ShowTimeout,
		ready: make(chan struct{}), done: make(chan struct{}),
		windows: make(map[string]bool), acks: make(map[uint64]chan Event), asked: make(map[uint64]string),
	}
	log.Info("window process started", "pid", cmd.Process.Pid)
	go h.read(outR)
	go func() {
		err := cmd.Wait()
		h.mu.Lock()
		h.stopping, h.waitErr = true, err
		h.windows = map[string]bool{}
		if h.timer != nil {
			h.timer.Stop()
		}
		h.mu.Unlock()
		inW.Close()
		close(h.done)
		log.Info("window process exited", "pid", cmd.Process.Pid, "err", err)
	}()
	return h, nil
}

// read handles the window process's events until its output ends.
func (h *host) read(out io.ReadCloser) {
	defer out.Close()
	sc := bufio.NewScanner(out)
	readyOnce := sync.OnceFunc(func() { close(h.ready) })
	for sc.Scan() {
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			h.log.Warn("a line from the window process that is not an event", "err", err)
			continue
		}
		h.mu.Lock()
		switch e.Ev {
		case EvReady:
			readyOnce()
		case EvOpened:
			// Only as the answer to an open of ours, of that key.
			if h.asked[e.ID] == e.Key && e.ID != 0 {
				h.windows[e.Key] = true
			}
		case EvClosed:
			delete(h.windows, e.Key)
			h.log.Info("chat window closed", "window", e.Key)
		}
		if ack := h.acks[e.ID]; ack != nil && e.ID != 0 {
			if e.Ev != EvAccepted {
				delete(h.acks, e.ID)
			}
			select {
			case ack <- e: // buffered for both answers
			default: // a second EvAccepted, from a confused process
			}
		}
		h.lingerIfIdle()
		h.mu.Unlock()
	}
}

// alive reports whether the host takes commands.
func (h *host) alive() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.stopping
}

func (h *host) exitErr() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.waitErr
}

func (h *host) windowKeys() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	keys := make([]string, 0, len(h.windows))
	for k := range h.windows {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// open sends c and waits for its answer.
func (h *host) open(ctx context.Context, c Command) error {
	h.mu.Lock()
	if h.stopping {
		h.mu.Unlock()
		return errGone
	}
	h.nextID++
	c.ID = h.nextID
	ack := make(chan Event, 2)
	h.acks[c.ID] = ack
	h.asked[c.ID] = c.Key
	h.busy++
	if h.timer != nil {
		h.timer.Stop()
		h.timerGen++
	}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.acks, c.ID)
		delete(h.asked, c.ID)
		h.busy--
		h.lingerIfIdle()
		h.mu.Unlock()
	}()

	if err := h.send(c); err != nil {
		return err
	}
	// First the main loop takes it, at once unless it is hung; then the
	// window shows, which may take the web engine's start.
	t := time.NewTimer(h.reply)
	defer t.Stop()
	accepted := false
	for {
		select {
		case e := <-ack:
			switch e.Ev {
			case EvAccepted:
				accepted = true
				t.Reset(h.show)
				continue
			case EvFailed:
				return fmt.Errorf("the window process could not make the window: %s", e.Err)
			}
			return nil
		case <-h.done:
			return errGone
		case <-t.C:
			if accepted {
				return fmt.Errorf("the window did not show within %v", h.show)
			}
			h.kill()
			return fmt.Errorf("the window process did not answer within %v; it was ended, and the next open starts a new one", h.reply)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// send writes c, within the reply timeout: a window process that does not
// read its commands is hung, and is killed.
func (h *host) send(c Command) error {
	line, err := json.Marshal(c)
	if err != nil {
		return err
	}
	h.wmu.Lock()
	defer h.wmu.Unlock()
	written := make(chan error, 1)
	go func() {
		_, err := h.in.Write(append(line, '\n'))
		written <- err
	}()
	t := time.NewTimer(h.reply)
	defer t.Stop()
	select {
	case err := <-written:
		if err != nil {
			// A broken pipe: it exited, or is exiting (it may not have
			// been reaped yet): the next open needs a new one.
			h.mu.Lock()
			h.stopping = true
			h.mu.Unlock()
			return errGone
		}
		return nil
	case <-t.C:
		h.kill() // which ends the write
		return fmt.Errorf("the window process did not take a command within %v; it was ended", h.reply)
	}
}

// idle arms the linger if there is no window.
func (h *host) idle() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lingerIfIdle()
}

// lingerIfIdle (h.mu held) ends the window process after the linger if it
// has no window and no open is on its way.
func (h *host) lingerIfIdle() {
	if h.stopping || h.busy > 0 || len(h.windows) > 0 {
		return
	}
	if h.timer != nil {
		h.timer.Stop()
	}
	h.timerGen++
	gen := h.timerGen
	h.timer = time.AfterFunc(h.linger, func() {
		h.mu.Lock()
		idle := gen == h.timerGen && !h.stopping && h.busy == 0 && len(h.windows) == 0
		if idle {
			h.stopping = true
		}
		h.mu.Unlock()
		if idle {
			h.log.Info("no chat window left: the window process ends", "pid", h.cmd.Process.Pid)
			ctx, cancel := context.WithTimeout(context.Background(), h.reply)
			defer cancel()
			h.stop(ctx)
		}
	})
}

// stop asks the window process to quit and waits for it (or ctx, then
// kills it).
func (h *host) stop(ctx context.Context) {
	h.mu.Lock()
	h.stopping = true
	if h.timer != nil {
		h.timer.Stop()
	}
	h.mu.Unlock()
	// The end of its input ends it (and wakes a write stuck on it).
	h.in.Close()
	select {
	case <-h.done:
	case <-ctx.Done():
		h.kill()
		<-h.done
	}
}

// kill ends the window process at once.
func (h *host) kill() {
	h.mu.Lock()
	h.stopping = true
	h.mu.Unlock()
	h.cmd.Process.Kill()
}
