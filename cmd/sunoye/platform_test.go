package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The daemon finds sunoye-window beside itself the way each system runs
// programs: name.exe on Windows, whatever its mode bits say (they mean
// nothing there); an executable file elsewhere.
func TestBesideProgram(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("plain", 0o644)
	write("runs", 0o755)
	write("runs.exe", 0o644)
	write("plain.exe", 0o644)
	if err := os.Mkdir(filepath.Join(dir, "adir.exe"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, goos, want string }{
		{"runs", "linux", "runs"},
		{"plain", "linux", ""}, // not executable
		{"runs", "windows", "runs.exe"},
		{"plain", "windows", "plain.exe"}, // mode bits do not matter
		{"adir", "windows", ""},           // a directory is no program
		{"absent", "windows", ""},
		{"absent", "darwin", ""},
	} {
		got := besideProgram(dir, tc.name, tc.goos)
		want := ""
		if tc.want != "" {
			want = filepath.Join(dir, tc.want)
		}
		if got != want {
			t.Errorf("besideProgram(%s, %s) = %q, want %q", tc.name, tc.goos, got, want)
		}
	}
}

// doctor on Windows and macOS speaks of what those systems have, not of
// D-Bus, X displays or xclip.
func TestDesktopChecksSpeakThePlatform(t *testing.T) {
	for _, goos := range []string{"windows", "darwin"} {
		checks := desktopChecks(goos)
		if len(checks) != 4 {
			t.Errorf("%s: %d desktop checks, want notifications, tray, windows and clipboard", goos, len(checks))
		}
		for _, ch := range checks {
			msg, err := ch.run(context.Background(), settings{})
			if err != nil {
				msg = err.Error()
			}
			for _, foreign := range []string{"D-Bus", "session bus", "StatusNotifierWatcher", "DISPLAY", "xclip", "xsel", "wl-copy", "GNOME", "dunst"} {
				if strings.Contains(msg, foreign) {
					t.Errorf("%s: check %q says %q, which speaks of %s", goos, ch.name, msg, foreign)
				}
			}
		}
	}
}

// `sunoye desktop install` writes freedesktop files and a systemd unit:
// on Windows and macOS it refuses and says how to start SunOye instead.
func TestDesktopIntegrationIsLinuxOnly(t *testing.T) {
	if err := xdgDesktop("linux"); err != nil {
		t.Errorf("linux: %v", err)
	}
	for _, goos := range []string{"windows", "darwin"} {
		if err := xdgDesktop(goos); err == nil || !strings.Contains(err.Error(), "sunoye up") {
			t.Errorf("%s: %v, want a refusal saying to run 'sunoye up'", goos, err)
		}
	}
}
