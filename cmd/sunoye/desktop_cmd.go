package main

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sunoye/sunoye/tray"
)

// desktopFiles are the desktop entry, the autostart entry and the systemd
// user unit; @BIN@ stands for the installed binary's path.
//
//go:embed desktop
var desktopFiles embed.FS

// installTarget is where one desktop file goes.
type installTarget struct {
	src, dst string
	optional bool // only with --autostart
}

func desktopTargets() ([]installTarget, error) {
	data, err := xdgDir("XDG_DATA_HOME", ".local/share")
	if err != nil {
		return nil, err
	}
	conf, err := xdgDir("XDG_CONFIG_HOME", ".config")
	if err != nil {
		return nil, err
	}
	ts := []installTarget{
		{"desktop/sunoye.desktop", filepath.Join(data, "applications", "sunoye.desktop"), false},
		{"desktop/sunoye.service", filepath.Join(conf, "systemd", "user", "sunoye.service"), false},
		{"desktop/sunoye-autostart.desktop", filepath.Join(conf, "autostart", "sunoye.desktop"), true},
	}
	err = fs.WalkDir(tray.Assets, "assets/icons", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			ts = append(ts, installTarget{path, filepath.Join(data, "icons", strings.TrimPrefix(path, "assets/icons/")), false})
		}
		return err
	})
	return ts, err
}

func xdgDir(env, fallback string) (string, error) {
	if d := os.Getenv(env); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no home directory: set $%s: %w", env, err)
	}
	return filepath.Join(home, fallback), nil
}

// xdgDesktop says why goos has no use for the desktop integration, which
// is freedesktop files and a systemd unit.
func xdgDesktop(goos string) error {
	switch goos {
	case "windows":
		return errors.New("the desktop integration is for Linux desktops (XDG menu entry, systemd unit); on Windows, run 'sunoye up' (a shortcut to it in shell:startup starts it at login)")
	case "darwin":
		return errors.New("the desktop integration is for Linux desktops (XDG menu entry, systemd unit); on macOS, run 'sunoye up' (a login item starts it at login)")
	}
	return nil
}

func newDesktopCmd() *cobra.Command {
	c := newGroupCmd("desktop", "Install or remove the desktop integration")
	var autostart bool
	install := &cobra.Command{
		Use:   "install",
		Short: "Install the menu entry, icons and systemd user unit for this binary",
		Long: `Install, for the current user: the application menu entry
($XDG_DATA_HOME/applications/sunoye.desktop), the icon set
($XDG_DATA_HOME/icons/hicolor), and the systemd user unit
($XDG_CONFIG_HOME/systemd/user/sunoye.service), all pointing at this binary.
Start SunOye with the session by either
  systemctl --user enable --now sunoye
or, on a desktop without systemd, --autostart (an XDG autostart entry).`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := xdgDesktop(runtime.GOOS); err != nil {
				return err
			}
			bin, err := os.Executable()
			if err != nil {
				return err
			}
			if bin, err = filepath.EvalSymlinks(bin); err != nil {
				return err
			}
			ts, err := desktopTargets()
			if err != nil {
				return err
			}
			for _, t := range ts {
				if t.optional && !autostart {
					continue
				}
				if err := installFile(t, bin); err != nil {
					return err
				}
				fmt.Fprintln(c.OutOrStdout(), "installed", t.dst)
			}
			if !autostart {
				fmt.Fprintln(c.ErrOrStderr(), "Start with the session: systemctl --user enable --now sunoye")
			}
			return nil
		},
	}
	install.Flags().BoolVar(&autostart, "autostart", false, "also start SunOye at login through an XDG autostart entry")
	uninstall := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove what 'sunoye desktop install' installed",
		Args:  args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := xdgDesktop(runtime.GOOS); err != nil {
				return err
			}
			ts, err := desktopTargets()
			if err != nil {
				return err
			}
			for _, t := range ts {
				err := os.Remove(t.dst)
				if err == nil {
					fmt.Fprintln(c.OutOrStdout(), "removed", t.dst)
				} else if !errors.Is(err, os.ErrNotExist) {
					return err
				}
			}
			return nil
		},
	}
	c.AddCommand(install, uninstall)
	return c
}

func installFile(t installTarget, bin string) error {
	var b []byte
	var err error
	if strings.HasPrefix(t.src, "desktop/") {
		b, err = desktopFiles.ReadFile(t.src)
		b = bytes.ReplaceAll(b, []byte("@BIN@"), []byte(quoteExec(bin)))
	} else {
		b, err = tray.Assets.ReadFile(t.src)
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(t.dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(t.dst, b, 0o644)
}

// quoteExec quotes a path for an Exec= line (desktop entry spec) and
// ExecStart= (systemd), which both take double quotes.
func quoteExec(path string) string {
	if !strings.ContainsAny(path, " \t\"\\$`") {
		return path
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "`", "\\`", "$", `\$`)
	return `"` + r.Replace(path) + `"`
}
