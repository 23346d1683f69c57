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
	"sync"
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
			if !ch.essential || errors.As(err, new(degraded)) {
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
	if err := checkEmbedded(st.Broker); err != nil {
		return "", err
	}
	broker, err := st.brokerURL()
	if err != nil {
		return "", err
	}
	// The whole list first: it is what the daemon takes, and its errors
	// name the URL that is wrong.
	if _, err := mqttx.New(mqttx.Config{Broker: broker}); err != nil {
		return "", err
	}
	nodes := mqttx.SplitBrokers(broker)
	if len(nodes) == 1 {
		return pingBroker(ctx, broker)
	}
	// Each node of a cluster on its own: the daemon needs one, the
	// cluster all of them.
	return checkEach(ctx, "nodes reachable", nodes, pingBroker)
}

// pingBroker connects to one broker (or node) once.
func pingBroker(ctx context.Context, broker string) (string, error) {
	tr, err := mqttx.New(mqttx.Config{Broker: broker})
	if err != nil {
		return "", err
	}
	start := time.Now()
	if err := tr.Ping(ctx); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s reachable (connected in %v)", mqttx.Redact(broker), time.Since(start).Round(time.Millisecond)), nil
}

// checkEmbedded refuses embedded:// in a list: it starts one broker, in
// the daemon, and is no node of a cluster.
func checkEmbedded(broker string) error {
	if isEmbedded(broker) && strings.Contains(broker, ",") {
		return usageError{fmt.Errorf("%w: broker %q: embedded:// starts one broker inside the daemon; it cannot be part of a list (give tcp:// URLs of a cluster's nodes instead)",
			mqttx.ErrBadURL, mqttx.Redact(broker))}
	}
	return nil
}

func checkRegistry(ctx context.Context, st settings) (string, error) {
	dsn, err := st.dbDSN()
	if err != nil {
		return "", err
	}
	hosts, err := db.HostDSNs(dsn)
	if err != nil {
		return "", err
	}
	if len(hosts) == 1 {
		return probeRegistry(ctx, dsn)
	}
	// Every host of a list: the daemon moves to the next when one
	// fails, so each must be usable.
	return checkEach(ctx, "hosts reachable", hosts, probeRegistry)
}

// checkEach runs probe on every node of a cluster at once. All up is ok,
// some down is degraded (the daemon uses the others, but has fewer to
// move to), all down fails. One line, as every check's.
func checkEach(ctx context.Context, what string, nodes []string, probe func(context.Context, string) (string, error)) (string, error) {
	oks := make([]string, len(nodes))
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() { oks[i], errs[i] = probe(ctx, n) })
	}
	wg.Wait()
	var up, down []string
	for i := range nodes {
		if errs[i] != nil {
			down = append(down, errs[i].Error())
		} else {
			up = append(up, oks[i])
		}
	}
	summary := fmt.Sprintf("%d of %d %s", len(up), len(nodes), what)
	switch {
	case len(up) == 0:
		return "", fmt.Errorf("%s: %s", summary, strings.Join(down, "; "))
	case len(down) > 0:
		return "", degraded{fmt.Errorf("%s (the daemon uses those, with fewer to move to): %s; %s",
			summary, strings.Join(up, "; "), strings.Join(down, "; "))}
	}
	return summary + ": " + strings.Join(up, "; "), nil
}

// degraded is the error of an essential check that found a fault the
// daemon works around: a warning, not a failure.
type degraded struct{ error }

// probeRegistry checks the registry of dsn, one host.
func probeRegistry(ctx context.Context, dsn string) (string, error) {
	// Probe, not Open: a diagnosis changes nothing, not even a shared
	// database's schema.
	start := time.Now()
	have, want, err := db.Probe(ctx, dsn)
	if err != nil {
		return "", err
	}
	where := fmt.Sprintf("%s reachable (%v)", db.Redact(dsn), time.Since(start).Round(time.Millisecond))
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
