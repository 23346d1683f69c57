package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Wine is a Wine prefix (a private C: drive and registry) in which tests
// run the Windows builds: Debian's wine (8.0 in Debian 12), 64-bit.
type Wine struct {
	// Prefix is the prefix's directory (WINEPREFIX).
	Prefix string
	// Took is how long making the prefix took.
	Took time.Duration
	wine string
	env  []string
}

// winePrefix is the test process's prefix: making one takes seconds to
// minutes on a busy 2-core machine, so a package's tests share it.
var winePrefix struct {
	once sync.Once
	w    *Wine
	err  error
}

// wineCommandTimeout bounds one Windows program run to completion (a CLI
// call); the first call in a fresh prefix is the slowest.
const wineCommandTimeout = 2 * time.Minute

// StartWine returns the test process's Wine prefix, made on first use:
// WINEPREFIX in a temporary directory, WINEDEBUG=-all, no Mono or Gecko
// installs, and the bcryptprimitives.dll stand-in that Go 1.22+ binaries
// need (wine/bcryptprimitives.c, built with mingw-w64 into the prefix's
// system32). Main kills its wineserver and removes it after the tests.
// Missing wine or mingw-w64 skips the test, or fails it under CI.
func StartWine(t testing.TB) *Wine {
	t.Helper()
	if !mainRunning.Load() {
		t.Fatal("testenv: StartWine needs the package's TestMain to call testenv.Main(m)")
	}
	wine := NeedBinary(t, "wine", "wine")
	wineserver := NeedBinary(t, "wineserver", "wine64")
	gcc := NeedBinary(t, "x86_64-w64-mingw32-gcc", "gcc-mingw-w64-x86-64")
	winePrefix.once.Do(func() {
		winePrefix.w, winePrefix.err = makeWinePrefix(wine, wineserver, gcc)
	})
	if winePrefix.err != nil {
		t.Fatalf("testenv: %v", winePrefix.err)
	}
	return winePrefix.w
}

func makeWinePrefix(wine, wineserver, gcc string) (*Wine, error) {
	start := time.Now()
	dir, err := os.MkdirTemp("", "sunoye-wine")
	if err != nil {
		return nil, err
	}
	w := &Wine{Prefix: dir, wine: wine}
	w.env = append(os.Environ(),
		"WINEPREFIX="+dir,
		"WINEDEBUG=-all",
		// No Mono (no .NET programs here). mshtml stays: it registers the
		// .html association through which ShellExecute reaches
		// winebrowser. No display: no dialogs (the programs under test
		// are console ones, or fall back before opening a window).
		"WINEDLLOVERRIDES=mscoree=",
		"DISPLAY=", "WAYLAND_DISPLAY=",
	)
	onExit(func() {
		kill := exec.Command(wineserver, "-k")
		kill.Env = w.env
		kill.Run()
		os.RemoveAll(dir)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*wineCommandTimeout)
	defer cancel()
	for _, argv := range [][]string{{wine, "wineboot", "-i"}, {wineserver, "-w"}} {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = w.env
		cmd.WaitDelay = time.Second // see Try
		if out, err := cmd.CombinedOutput(); err != nil && !errors.Is(err, exec.ErrWaitDelay) {
			return nil, fmt.Errorf("making the Wine prefix: %v: %w\n%s", argv, err, out)
		}
	}
	_, self, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(self), "wine", "bcryptprimitives.c")
	dll := filepath.Join(dir, "drive_c", "windows", "system32", "bcryptprimitives.dll")
	if out, err := exec.CommandContext(ctx, gcc, "-O2", "-shared", "-o", dll, src, "-ladvapi32").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the bcryptprimitives.dll stand-in: %w\n%s", err, out)
	}
	w.Took = time.Since(start)
	return w, nil
}

// Path is the Windows path of a Linux path: Wine's Z: drive is /.
func (w *Wine) Path(linux string) string {
	return `Z:` + strings.ReplaceAll(linux, "/", `\`)
}

// Command runs a Windows program (a Linux path to an .exe) in the prefix.
func (w *Wine) Command(ctx context.Context, exe string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, w.wine, append([]string{exe}, args...)...)
	cmd.Env = append([]string(nil), w.env...)
	return cmd
}

// Run runs a Windows program to completion and returns its standard
// output; a failure (or a run longer than wineCommandTimeout) fails the
// test with what it printed.
func (w *Wine) Run(t testing.TB, exe string, args ...string) string {
	t.Helper()
	out, err := w.Try(exe, args...)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return out
}

// Try is Run returning the error instead of failing the test.
func (w *Wine) Try(exe string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wineCommandTimeout)
	defer cancel()
	cmd := w.Command(ctx, exe, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Wine services started on the program's behalf (services.exe,
	// winedevice.exe) inherit its output and outlive it: once the program
	// has exited, what it wrote is all there.
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil && !errors.Is(err, exec.ErrWaitDelay) {
		return stdout.String(), fmt.Errorf("wine %s %s: %w\nstdout: %s\nstderr: %s", filepath.Base(exe), strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.String(), nil
}

// sunoyeWindows is the Windows build, made once per test process.
var sunoyeWindows struct {
	once sync.Once
	dir  string
	took time.Duration
	err  error
}

// SunoyeWindows returns a directory holding sunoye.exe and
// sunoye-window.exe, built once per test process by the Makefile's
// windows target (cgo with mingw-w64, the window on WebView2), as `make
// dist-windows` zips them. Main removes it.
func SunoyeWindows(t testing.TB) (dir string, took time.Duration) {
	t.Helper()
	if !mainRunning.Load() {
		t.Fatal("testenv: SunoyeWindows needs the package's TestMain to call testenv.Main(m)")
	}
	NeedBinary(t, "x86_64-w64-mingw32-g++", "g++-mingw-w64-x86-64")
	mk := NeedBinary(t, "make", "make")
	sunoyeWindows.once.Do(func() {
		start := time.Now()
		root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
		if err != nil {
			sunoyeWindows.err = fmt.Errorf("finding the module: %w", err)
			return
		}
		dir, err := os.MkdirTemp("", "sunoye-win")
		if err != nil {
			sunoyeWindows.err = err
			return
		}
		onExit(func() { os.RemoveAll(dir) })
		cmd := exec.Command(mk, "-s", "-C", strings.TrimSpace(string(root)), "windows", "WINBIN="+dir, "VERSION=test")
		if out, err := cmd.CombinedOutput(); err != nil {
			sunoyeWindows.err = errors.New("make windows: " + err.Error() + "\n" + string(out))
			return
		}
		sunoyeWindows.dir, sunoyeWindows.took = dir, time.Since(start)
	})
	if sunoyeWindows.err != nil {
		t.Fatalf("testenv: %v", sunoyeWindows.err)
	}
	return sunoyeWindows.dir, sunoyeWindows.took
}

// WineDaemon is a Windows `sunoye.exe up --headless` under Wine, stopped
// when the test ends.
type WineDaemon struct {
	w   *Wine
	exe string
	// StateDir is its state directory (a Linux path).
	StateDir string
	proc     *process
}

// StartWineDaemon starts sunoye.exe from dir (see SunoyeWindows) with
// cfg's broker, registry and name (Windows paths in cfg.DB), and waits
// until its CLI reaches it over its local API.
func StartWineDaemon(t testing.TB, w *Wine, dir string, cfg DaemonConfig) *WineDaemon {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "tester"
	}
	d := &WineDaemon{w: w, exe: filepath.Join(dir, "sunoye.exe"), StateDir: shortTempDir(t, "syw")}
	args := []string{"up", "--headless", "--state-dir", w.Path(d.StateDir), "--broker", cfg.Broker, "--db", cfg.DB, "--name", cfg.Name, "--log-level", "debug"}
	cmd := w.Command(context.Background(), d.exe, args...)
	cmd.Env = append(cmd.Env, cfg.Env...)
	p, err := startProcess("sunoye.exe daemon", filepath.Join(d.StateDir, "..", filepath.Base(d.StateDir)+".log"), cmd)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	d.proc = p
	t.Cleanup(func() {
		p.stop()
		os.Remove(p.logPath)
	})
	if err := p.waitReady(wineCommandTimeout, func() error {
		_, err := d.Try("rooms")
		return err
	}); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return d
}

// CLI runs a sunoye.exe command against the daemon and returns its
// standard output, failing the test if it fails.
func (d *WineDaemon) CLI(t testing.TB, args ...string) string {
	t.Helper()
	out, err := d.Try(args...)
	if err != nil {
		t.Fatalf("testenv: %v\n--- daemon log ---\n%s", err, d.proc.tail())
	}
	return out
}

// Try runs a sunoye.exe command against the daemon.
func (d *WineDaemon) Try(args ...string) (string, error) {
	return d.w.Try(d.exe, append(args, "--state-dir", d.w.Path(d.StateDir))...)
}

// Log is what the daemon has logged so far.
func (d *WineDaemon) Log() string { return string(d.proc.logSinceStart()) }
