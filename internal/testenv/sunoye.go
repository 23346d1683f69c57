package testenv

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sunoye/sunoye/web"
)

// sunoyeBin is the sunoye binary built once per test process.
var sunoyeBin struct {
	once sync.Once
	path string
	err  error
}

// Sunoye returns the path of a sunoye binary built from this module, once
// per test process, with sunoye-window and sunoye-strength beside it: tests run them the way
// users do. The package's TestMain must call Main, which removes them.
func Sunoye(t testing.TB) string {
	t.Helper()
	if !mainRunning.Load() {
		t.Fatal("testenv: Sunoye needs the package's TestMain to call testenv.Main(m)")
	}
	sunoyeBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "sunoye-bin")
		if err != nil {
			sunoyeBin.err = err
			return
		}
		onExit(func() { os.RemoveAll(dir) })
		// Both binaries, side by side, as they are installed: the daemon
		// finds sunoye-window beside itself.
		sunoyeBin.path = filepath.Join(dir, "sunoye")
		cmd := exec.Command("go", "build", "-o", dir+"/", "github.com/sunoye/sunoye/cmd/sunoye", "github.com/sunoye/sunoye/cmd/sunoye-window", "github.com/sunoye/sunoye/cmd/sunoye-strength")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			sunoyeBin.err = errors.New("go build ./cmd/sunoye: " + err.Error() + "\n" + out.String())
		}
	})
	if sunoyeBin.err != nil {
		t.Fatalf("testenv: %v", sunoyeBin.err)
	}
	return sunoyeBin.path
}

// DaemonConfig describes a sunoye daemon for a test.
type DaemonConfig struct {
	// Bin is the sunoye binary to run (an installed one, say); default
	// the one built from this module (Sunoye).
	Bin    string
	Broker string // --broker
	DB     string // --db
	Name   string // --name; default "tester"
	// StateDir is the daemon's state directory; a new one if empty.
	StateDir string
	// Args are more arguments to `sunoye up`; without any, --headless.
	Args []string
	// Env is added to the daemon's environment.
	Env []string
	// Wrapper, if set, runs the daemon through this command, which must
	// exec it in its own place (so PID stays the daemon's): for example
	// setpriv, to drop capabilities.
	Wrapper []string
}

// Daemon is a `sunoye up` run by a test, stopped when the test ends.
type Daemon struct {
	cfg      DaemonConfig
	bin      string
	StateDir string
	proc     *process
}

// StartDaemon starts a daemon and waits until its local API answers.
func StartDaemon(t testing.TB, cfg DaemonConfig) *Daemon {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "tester"
	}
	if cfg.Args == nil {
		cfg.Args = []string{"--headless"}
	}
	d := &Daemon{cfg: cfg, bin: cfg.Bin, StateDir: cfg.StateDir}
	if d.bin == "" {
		d.bin = Sunoye(t)
	}
	if d.StateDir == "" {
		d.StateDir = shortTempDir(t, "sy")
	}
	d.Start(t)
	t.Cleanup(func() {
		if d.proc != nil {
			d.proc.stop()
		}
	})
	return d
}

// Start starts the daemon again after Stop or Kill, with the same state.
func (d *Daemon) Start(t testing.TB) {
	t.Helper()
	args := append([]string{"up", "--state-dir", d.StateDir, "--broker", d.cfg.Broker, "--db", d.cfg.DB, "--name", d.cfg.Name, "--log-level", "debug"}, d.cfg.Args...)
	argv := append(append(append([]string(nil), d.cfg.Wrapper...), d.bin), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(d.env(), d.cfg.Env...)
	p, err := startProcess("sunoye daemon", filepath.Join(d.StateDir, "daemon.log"), cmd)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	d.proc = p
	client := d.Client()
	if err := p.waitReady(readyTimeout, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := client.Status(ctx)
		return err
	}); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}

// env is the environment of the daemon and its CLI: the test's, with the
// config file pointed away from the user's own.
func (d *Daemon) env() []string {
	return append(os.Environ(), "SUNOYE_CONFIG="+filepath.Join(d.StateDir, "no-config.toml"))
}

// Stop sends SIGTERM, as systemd or a logout does, and waits.
func (d *Daemon) Stop(t testing.TB) {
	t.Helper()
	d.proc.stop()
}

// Kill sends SIGKILL: the daemon gets no chance to clean up.
func (d *Daemon) Kill(t testing.TB) {
	t.Helper()
	d.proc.cmd.Process.Signal(syscall.SIGKILL)
	<-d.proc.exited
}

// Signal sends sig to the daemon without waiting; Done tells when it has
// exited. For tests that time or watch a stop themselves.
func (d *Daemon) Signal(t testing.TB, sig os.Signal) {
	t.Helper()
	if err := d.proc.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("testenv: signal the daemon: %v", err)
	}
}

// Done is closed once the daemon (of the latest Start) has exited.
func (d *Daemon) Done() <-chan struct{} { return d.proc.exited }

// Bin is the sunoye binary the daemon runs.
func (d *Daemon) Bin() string { return d.bin }

// PID is the daemon's process id.
func (d *Daemon) PID() int { return d.proc.cmd.Process.Pid }

// Exited reports whether the daemon has exited.
func (d *Daemon) Exited() bool {
	select {
	case <-d.proc.exited:
		return true
	default:
		return false
	}
}

// Log returns what the daemon logged in all its runs.
func (d *Daemon) Log() string {
	b, _ := os.ReadFile(d.proc.logPath)
	return string(b)
}

// Socket is the path of the daemon's local API.
func (d *Daemon) Socket() string { return filepath.Join(d.StateDir, "sunoye.sock") }

// Client returns a client of the daemon's local API.
func (d *Daemon) Client() *web.Client { return web.NewClient(d.Socket()) }

// Result is what a CLI command did.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Run runs `sunoye --state-dir DIR args…` against this daemon.
func (d *Daemon) Run(t testing.TB, args ...string) Result {
	t.Helper()
	return d.RunStdin(t, "", args...)
}

// RunStdin is Run with the given standard input.
func (d *Daemon) RunStdin(t testing.TB, stdin string, args ...string) Result {
	t.Helper()
	return d.RunEnv(t, nil, stdin, args...)
}

// RunEnv is RunStdin with env added to the command's environment.
func (d *Daemon) RunEnv(t testing.TB, env []string, stdin string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.bin, append([]string{"--state-dir", d.StateDir}, args...)...)
	cmd.Env = append(d.env(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run sunoye %v: %v", args, err)
	}
	return r
}
