package chatview

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sync"
)

// ErrNoDisplay means there is no graphical session to open a window in.
var ErrNoDisplay = errors.New("no display: neither DISPLAY nor WAYLAND_DISPLAY is set")

// URLEnv passes a window's URL to the child process. The URL carries a
// one-time token; the environment, unlike the command line, is not
// readable by other users.
const URLEnv = "SUNOYE_WINDOW_URL"

// Options configure a Manager.
type Options struct {
	// Command is the program and arguments that run one window
	// (sunoye-window); the URL is passed in URLEnv and the title as the
	// last argument. Without it, windows are the default browser's.
	Command []string
	Logger  *slog.Logger
}

// Manager opens chat windows, one per key, as child processes.
type Manager struct {
	opt Options
	log *slog.Logger

	mu      sync.Mutex
	windows map[string]*child
	closed  bool
}

// child is one window's process; commands go to its standard input.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}
}

// NewManager returns a Manager that runs windows with opt.Command.
func NewManager(opt Options) *Manager {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return &Manager{opt: opt, log: opt.Logger, windows: make(map[string]*child)}
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
// starts a new one at url (which is used only then; it carries a one-time
// token, so get a fresh one per call).
func (m *Manager) Open(ctx context.Context, key, title string, url func() string) error {
	// A browser needs a display as much as a window does.
	if !HasDisplay() {
		return ErrNoDisplay
	}
	if len(m.opt.Command) == 0 {
		return OpenBrowser(url())
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errors.New("chat windows are closing")
	}
	if c := m.windows[key]; c != nil {
		if _, err := io.WriteString(c.stdin, CmdPresent+"\n"); err == nil {
			return nil
		}
		// The process is on its way out; start a new one.
	}
	args := append(slices.Clone(m.opt.Command[1:]), title)
	cmd := exec.Command(m.opt.Command[0], args...)
	cmd.Env = append(os.Environ(), URLEnv+"="+url())
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("open window %s: %w", key, err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("open window %s: %w", key, err)
	}
	c := &child{cmd: cmd, stdin: stdin, done: make(chan struct{})}
	m.windows[key] = c
	m.log.Info("chat window opened", "window", key, "pid", cmd.Process.Pid)
	go func() {
		err := cmd.Wait()
		close(c.done)
		m.mu.Lock()
		if m.windows[key] == c {
			delete(m.windows, key)
		}
		m.mu.Unlock()
		m.log.Info("chat window closed", "window", key, "err", err)
	}()
	return nil
}

// Windows lists the keys of the open windows.
func (m *Manager) Windows() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]string, 0, len(m.windows))
	for k := range m.windows {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Close closes every window and waits for their processes (or ctx).
func (m *Manager) Close(ctx context.Context) {
	m.mu.Lock()
	m.closed = true
	cs := make([]*child, 0, len(m.windows))
	for _, c := range m.windows {
		cs = append(cs, c)
	}
	m.mu.Unlock()
	for _, c := range cs {
		// Closing standard input tells the window to quit.
		c.stdin.Close()
	}
	for _, c := range cs {
		select {
		case <-c.done:
		case <-ctx.Done():
			c.cmd.Process.Kill()
		}
	}
}

// CmdPresent, written as a line to a window's standard input, brings it
// to the front.
const CmdPresent = "present"
