package window

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/url"

	"github.com/sunoye/sunoye/chatview"
)

// Window sizes: small, for a quick reply beside other work.
const (
	Width  = 440
	Height = 640
)

// Serve hosts the daemon's chat windows until in ends: it reads
// chatview.Commands from in and writes chatview.Events to out, one JSON
// object a line (see chatview's ipc.go). It must be called from the main
// goroutine: the windowing toolkit runs there.
//
// What is platform-specific is small, in the ui* functions of
// window_gtk.go (and window_browser.go, without a webview): start the
// toolkit, run its loop, run a function on its thread, make, raise and
// close a window.
func Serve(in io.Reader, out io.Writer) error {
	if !chatview.HasDisplay() {
		// The toolkit would abort the process instead.
		return chatview.ErrNoDisplay
	}
	if err := uiInit(); err != nil {
		return err
	}
	s := &server{windows: make(map[string]uiWindow), events: make(chan chatview.Event, 256)}
	written := make(chan struct{})
	go func() {
		defer close(written)
		enc := json.NewEncoder(out)
		for e := range s.events {
			// An error means the daemon is gone; its end of our input
			// is too, which ends the loop.
			enc.Encode(e)
		}
	}()
	s.events <- chatview.Event{Ev: chatview.EvReady}
	go func() {
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			var c chatview.Command
			if err := json.Unmarshal(sc.Bytes(), &c); err != nil || c.Op != chatview.OpOpen {
				continue // from the daemon, which sends nothing else
			}
			uiDo(func() { s.open(c) })
		}
		// The daemon closed our input, or died: nothing is left to
		// talk to.
		uiDo(uiQuit)
	}()
	uiRun()
	close(s.events)
	<-written
	return nil
}

// server is the state of Serve; it lives on the toolkit's thread.
type server struct {
	windows map[string]uiWindow
	events  chan chatview.Event
}

// open makes c's window, or raises it if it is open.
func (s *server) open(c chatview.Command) {
	reply := chatview.Event{Ev: chatview.EvOpened, ID: c.ID, Key: c.Key}
	if w := s.windows[c.Key]; w != nil {
		w.present()
		s.events <- reply
		return
	}
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		s.events <- chatview.Event{Ev: chatview.EvFailed, ID: c.ID, Key: c.Key, Err: fmt.Sprintf("not a web address: %q", c.URL)}
		return
	}
	var w uiWindow
	w, err := uiOpen(c.Title, c.URL, func() {
		// Closed by the user (or, without a webview, handed to the
		// browser): the room stays; only its window is gone.
		if s.windows[c.Key] == w {
			delete(s.windows, c.Key)
			s.events <- chatview.Event{Ev: chatview.EvClosed, Key: c.Key}
		}
	})
	if err != nil {
		s.events <- chatview.Event{Ev: chatview.EvFailed, ID: c.ID, Key: c.Key, Err: err.Error()}
		return
	}
	s.windows[c.Key] = w
	s.events <- reply
}
