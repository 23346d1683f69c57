package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sunoye/sunoye/chatview"
	"github.com/sunoye/sunoye/chatview/webview2"
	"github.com/sunoye/sunoye/db"
	"github.com/sunoye/sunoye/mqttx"
	"github.com/sunoye/sunoye/notifier"
	"github.com/sunoye/sunoye/tray"
	"github.com/sunoye/sunoye/web"
)

// checkTimeout bounds each of doctor's checks.
const checkTimeout = 10 * time.Second

// check is one line of `sunoye doctor`.
type check struct {
	name string
	// essential checks fail the command; the others only explain what
	// will not work (no tray icon, no notifications).
	essential bool
	run       func(ctx context.Context, st settings) (string, error)
}

func newDoctorCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Check what SunOye needs, and explain what is missing",
		Long: `Check the broker and the registry (reachable with these settings), the
daemon, and the desktop: a notification server, a tray host and what chat
windows need (on Linux a session bus, a StatusNotifierWatcher and a display;
on Windows the WebView2 runtime). Exits 1 if the broker or the registry
cannot be reached; the desktop checks only explain.`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			st, err := resolveSettings(c.Flags())
			if err != nil {
				return err
			}
			return runDoctor(c.Context(), c.OutOrStdout(), st)
		},
	}
}

func runDoctor(ctx context.Context, out io.Writer, st settings) error {
	fmt.Fprintf(out, "state directory %s, config file %s\n", st.StateDir, configPath())
	failed := false
	for _, ch := range doctorChecks {
		cctx, cancel := context.WithTimeout(ctx, checkTimeout)
		msg, err := ch.run(cctx, st)
		cancel()
		mark := "ok  "
		if err != nil {
			mark, msg = "FAIL", err.Error()
			if !ch.essential {
				mark = "warn"
			} else {
				failed = true
			}
		}
		fmt.Fprintf(out, "%s %-20s %s\n", mark, ch.name, msg)
	}
	if failed {
		return errors.New("the broker or the registry is not usable with these settings")
	}
	return nil
}

var doctorChecks = append([]check{
	{"daemon", false, checkDaemon},
	{"broker", true, checkBroker},
	{"registry", true, checkRegistry},
}, desktopChecks(runtime.GOOS)...)

// desktopChecks are the checks of the desktop parts, in goos's terms: the
// freedesktop ones (D-Bus, StatusNotifierWatcher, X or Wayland, xclip) on
// Linux and the BSDs; Windows and macOS have their notification area,
// notifications and clipboard built in.
func desktopChecks(goos string) []check {
	if goos == "windows" || goos == "darwin" {
		return []check{
			{"notification server", false, func(context.Context, settings) (string, error) {
				if goos == "windows" {
					return "Windows toasts (a click opens the room)", nil
				}
				return "the system's notifications (no click actions)", nil
			}},
			{"tray host", false, func(context.Context, settings) (string, error) {
				return "the system's notification area", nil
			}},
			{"chat windows", false, func(context.Context, settings) (string, error) { return checkWindowsOn(goos) }},
			{"clipboard", false, func(context.Context, settings) (string, error) {
				return "Copy invite uses the system clipboard", nil
			}},
		}
	}
	return []check{
		{"notification server", false, func(ctx context.Context, _ settings) (string, error) {
			info, err := notifier.ServerInfo(ctx)
			if err != nil {
				return "", fmt.Errorf("%w — notifications stay off until one runs (your desktop's, or dunst)", err)
			}
			return info, nil
		}},
		{"tray host", false, func(ctx context.Context, _ settings) (string, error) {
			ok, err := tray.HostPresent(ctx)
			switch {
			case err != nil:
				return "", fmt.Errorf("%w — no tray icon; the CLI, notifications and windows still work", err)
			case !ok:
				return "", errors.New("no StatusNotifierWatcher on the session bus — on GNOME install the AppIndicator extension; the CLI, notifications and windows still work")
			}
			return "a StatusNotifierWatcher is on the session bus", nil
		}},
		{"chat windows", false, func(context.Context, settings) (string, error) { return checkWindowsOn(goos) }},
		{"clipboard", false, func(context.Context, settings) (string, error) {
			for _, tool := range []string{"wl-copy", "xclip", "xsel"} {
				if p, err := exec.LookPath(tool); err == nil {
					return "Copy invite uses " + p, nil
				}
			}
			return "", errors.New("none of xclip, xsel, wl-copy found — Copy invite in the tray cannot work; the window's Copy button still does")
		}},
	}
}

func checkDaemon(ctx context.Context, st settings) (string, error) {
	s, err := web.NewClient(socketPath(st.StateDir)).Status(ctx)
	if err != nil {
		return "", fmt.Errorf("not running for this state directory (start it with 'sunoye up'): %w", err)
	}
	return fmt.Sprintf("running (pid %d, version %s, %d rooms, as %q)", s.PID, s.Version, s.Rooms, s.Name), nil
}

func checkBroker(ctx context.Context, st settings) (string, error) {
	if addr, ok := strings.CutPrefix(st.Broker, "embedded://"); ok {
		// The daemon starts it; all that can go wrong is the port.
		if s, err := web.NewClient(socketPath(st.StateDir)).Status(ctx); err == nil {
			return fmt.Sprintf("embedded, run by the daemon (pid %d) on %s", s.PID, addr), nil
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return "", fmt.Errorf("embedded broker cannot listen on %s: %w (is another broker there? then use --broker tcp://%s)", addr, err, addr)
		}
		ln.Close()
		return "embedded; the daemon will start it on " + addr, nil
	}
	broker, err := st.brokerURL()
	if err != nil {
		return "", err
	}
	tr, err := mqttx.New(mqttx.Config{Broker: broker})
	if err != nil {
		return "", err
	}
	start := time.Now()
	if err := tr.Ping(ctx); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s reachable (connected in %v)", mqttx.Redact(st.Broker), time.Since(start).Round(time.Millisecond)), nil
}

func checkRegistry(ctx context.Context, st settings) (string, error) {
	// Probe, not Open: a diagnosis changes nothing, not even a shared
	// database's schema.
	start := time.Now()
	dsn, err := st.dbDSN()
	if err != nil {
		return "", err
	}
	have, want, err := db.Probe(ctx, dsn)
	if err != nil {
		return "", err
	}
	where := fmt.Sprintf("%s reachable (%v)", db.Redact(st.DB), time.Since(start).Round(time.Millisecond))
	switch {
	case have == 0:
		return where + ", no schema yet: the daemon applies it at start ('sunoye db migrate' does it now)", nil
	case have < want:
		return fmt.Sprintf("%s, schema version %d: the daemon upgrades it to %d at start", where, have, want), nil
	}
	return where + ", schema up to date", nil
}

// checkWindowsOn says how chat windows will open on goos.
func checkWindowsOn(goos string) (string, error) {
	win := windowCommand()
	if win == nil {
		return "", errors.New("no " + windowProgram + " beside sunoye or on PATH — chat windows open in the default browser")
	}
	switch goos {
	case "windows":
		v, err := webview2.Version()
		if err != nil {
			return "", fmt.Errorf("%s: %w — chat windows open in the default browser", win[0], err)
		}
		return fmt.Sprintf("%s with WebView2 %s", win[0], v), nil
	case "darwin":
		return win[0], nil
	}
	if !chatview.HasDisplay() {
		return "", errors.New("no display (DISPLAY, WAYLAND_DISPLAY unset) — 'sunoye open --url' prints a link for a browser")
	}
	display := os.Getenv("WAYLAND_DISPLAY")
	if display == "" {
		display = os.Getenv("DISPLAY")
	}
	return fmt.Sprintf("%s on display %s", win[0], display), nil
}
