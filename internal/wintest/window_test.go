package wintest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sunoye/sunoye/chatview"
	"github.com/sunoye/sunoye/chatview/webview2"
	"github.com/sunoye/sunoye/internal/testenv"
)

// Without a WebView2 runtime (Wine has none) sunoye-window.exe says so
// and opens the default browser at once instead of hanging in webview_go's
// New; the browser gets the launch page as a file:///… URL (not
// "file://C:\…", which Windows runs as a program), and the page leads to
// the window's URL. Wine's winebrowser hands URLs to the programs named in
// its Browsers setting: here a script that records them.
func TestWindowWithoutWebView2OpensTheBrowser(t *testing.T) {
	w := testenv.StartWine(t)
	bin, _ := testenv.SunoyeWindows(t)
	dir := t.TempDir()
	got := filepath.Join(dir, "browser-got")
	script := filepath.Join(dir, "browser")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s\\n' \"$1\" > "+got+".tmp\ncase \"$1\" in file://*) cat \"${1#file://}\" >> "+got+".tmp;; esac\nmv "+got+".tmp "+got+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	w.Run(t, "reg", "add", `HKCU\Software\Wine\WineBrowser`, "/v", "Browsers", "/d", script, "/f")

	const url = "http://127.0.0.1:9/#launch=ONE-TIME-TOKEN"
	ctx, cancel := context.WithTimeout(t.Context(), within)
	defer cancel()
	// As the daemon starts it: the window process, asked for one window
	// on its standard input, which then ends (the process with it).
	cmd := w.Command(ctx, filepath.Join(bin, "sunoye-window.exe"))
	cmd.Env = append(cmd.Env, chatview.HostEnv+"=1")
	open, err := json.Marshal(chatview.Command{Op: chatview.OpOpen, ID: 1, Key: "room/1", Title: "Room 1 — SunOye", URL: url})
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = strings.NewReader(string(open) + "\n")
	cmd.WaitDelay = time.Second
	// Its output to a file, not a pipe: the browser it starts inherits
	// the pipe, and on a busy machine still held it open a second after
	// the window process had ended ("WaitDelay expired before I/O
	// complete", the output all there).
	outFile, err := os.Create(filepath.Join(dir, "window-output"))
	if err != nil {
		t.Fatal(err)
	}
	defer outFile.Close()
	cmd.Stdout, cmd.Stderr = outFile, outFile
	start := time.Now()
	err = cmd.Run()
	out, _ := os.ReadFile(outFile.Name())
	if ctx.Err() != nil {
		t.Fatalf("sunoye-window.exe did not return within %v (webview_go's New hangs without WebView2): %s", within, out)
	}
	if err != nil || !strings.Contains(string(out), "no WebView2 runtime is installed") || !strings.Contains(string(out), "opening the default browser instead") {
		t.Errorf("sunoye-window.exe: %v, %q; want it to say there is no WebView2 and open the browser", err, out)
	}
	t.Logf("sunoye-window.exe fell back to the browser in %v", time.Since(start).Round(time.Millisecond))

	var page string
	for deadline := time.Now().Add(within); ; time.Sleep(100 * time.Millisecond) {
		if b, err := os.ReadFile(got); err == nil {
			page = string(b)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the browser was not started within %v", within)
		}
	}
	first, rest, _ := strings.Cut(page, "\n")
	if !strings.HasPrefix(first, "file:///") || !strings.HasSuffix(first, ".html") || strings.Contains(first, "TOKEN") {
		t.Errorf("the browser got %q; want the launch page's file:/// URL, without the token", first)
	}
	if !strings.Contains(rest, `url=http://127.0.0.1:9/#launch=ONE-TIME-TOKEN`) {
		t.Errorf("the launch page does not lead to the window's URL:\n%s", rest)
	}
}

// `sunoye.exe doctor` speaks of Windows, and finds the WebView2 runtime
// the way sunoye-window.exe does: by its registry key; `desktop install`
// refuses.
func TestDoctorOnWindows(t *testing.T) {
	w := testenv.StartWine(t)
	bin, _ := testenv.SunoyeWindows(t)
	exe := filepath.Join(bin, "sunoye.exe")
	state := w.Path(t.TempDir())
	doctor := func() string {
		// doctor exits 1 when the broker is unreachable; its lines are
		// what matters here.
		out, _ := w.Try(exe, "doctor", "--state-dir", state, "--broker", "tcp://127.0.0.1:1")
		return out
	}
	out := doctor()
	for _, foreign := range []string{"D-Bus", "session bus", "StatusNotifierWatcher", "DISPLAY", "xclip"} {
		if strings.Contains(out, foreign) {
			t.Errorf("doctor on Windows speaks of %s:\n%s", foreign, out)
		}
	}
	if !strings.Contains(out, "no WebView2 runtime is installed") || !strings.Contains(out, `sunoye-window.exe`) {
		t.Errorf("doctor does not say that windows lack WebView2:\n%s", out)
	}
	if !strings.Contains(out, "sqlite:///Z:/") {
		t.Errorf("doctor's default registry is not a sqlite:///Z:/… file:\n%s", out)
	}

	// A runtime registered per user, as its installer does.
	w.Run(t, "reg", "add", `HKCU\Software\`+webview2.ClientKey, "/v", "pv", "/d", "131.0.2903.70", "/f")
	defer w.Try("reg", "delete", `HKCU\Software\`+webview2.ClientKey, "/f")
	if out := doctor(); !strings.Contains(out, "with WebView2 131.0.2903.70") {
		t.Errorf("doctor does not find the registered WebView2 runtime:\n%s", out)
	}

	// The freedesktop integration has no place here.
	if _, err := w.Try(exe, "desktop", "install"); err == nil || !strings.Contains(err.Error(), "on Windows, run 'sunoye up'") {
		t.Errorf("desktop install on Windows: %v; want a refusal", err)
	}
}
