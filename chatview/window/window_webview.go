//go:build windows && cgo && !nowebview

package window

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"

	webview "github.com/webview/webview_go"
)

// On Windows each window is WebView2 through webview_go, in a process of
// its own: webview_go runs one window per message loop and ends the loop
// when that window closes. The window process (Serve) hosts them as its
// children, one per window; the daemon sees one window process as on
// Linux. (One process for all windows, as on Linux, would need Win32 and
// WebView2 code of our own.)

// Native is true in builds with the webview.
const Native = true

func init() {
	// Win32 windows belong to the thread that made them: keep the main
	// goroutine on the main thread, so that a window runs from main.
	runtime.LockOSThread()
}

// OneEnv, set in a child of the window process, makes it show one window:
// ServeOne.
const OneEnv = "SUNOYE_WINDOW_ONE"

// oneSpec is the first line a one-window child reads: what to show (on
// stdin, not argv: the URL holds a one-time launch token).
type oneSpec struct {
	URL   string `json:"url"`
	Title string `json:"title"`
}

// presentLine asks a one-window child to come to the front.
const presentLine = "present"

// ServeOne shows one window, as a child of Serve: its URL and title on the
// first line of in, then presentLine lines. It returns when the window
// closes or in ends.
func ServeOne(in io.Reader) error {
	sc := bufio.NewScanner(in)
	if !sc.Scan() {
		return errors.New("no window to show")
	}
	var spec oneSpec
	if err := json.Unmarshal(sc.Bytes(), &spec); err != nil {
		return fmt.Errorf("window spec: %w", err)
	}
	w := webview.New(false)
	if w == nil {
		return errors.New("the webview could not be created (is " + engine + " installed?)")
	}
	defer w.Destroy()
	w.SetTitle(spec.Title)
	w.SetSize(Width, Height, webview.HintNone)
	w.Navigate(spec.URL)
	go func() {
		for sc.Scan() {
			if sc.Text() == presentLine {
				w.Dispatch(func() { present(w.Window()) })
			}
		}
		w.Dispatch(w.Terminate)
	}()
	w.Run()
	return nil
}

// Serve's loop on Windows: queueloop.go.

func uiWarm(string) {}
func uiRecycle()    {}

type uiWindow = *child

// child is one window's process.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

func (c *child) present() {
	if c.stdin != nil {
		fmt.Fprintln(c.stdin, presentLine)
	}
}

func uiOpen(title, url string, opened func(uiWindow, error), closed func()) {
	if err := engineMissing(); err != nil {
		// webview.New would never return: the browser is the window.
		if err := fallback(url, err); err != nil {
			opened(nil, err)
			return
		}
		// A browser tab: SunOye cannot raise or close it, so as far as
		// the daemon knows it is closed at once.
		opened(&child{}, nil)
		go uiDo(closed)
		return
	}
	c, err := startChild(title, url)
	if err != nil {
		opened(nil, err)
		return
	}
	opened(c, nil)
	go func() {
		c.cmd.Wait()
		uiDo(closed)
	}()
}

func startChild(title, url string) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), OneEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	spec, _ := json.Marshal(oneSpec{URL: url, Title: title})
	if _, err := fmt.Fprintf(stdin, "%s\n", spec); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, err
	}
	return &child{cmd: cmd, stdin: stdin}, nil
}
