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
// toolkit, run its loop, run a function on its thread, ready the web
// engine for an origin, make a window (reporting it made, or not, and
// closed), raise it.
func Serve(in io.Reader, out io.Writer) error {
	if !chatview.HasDisplay() {
		// The toolkit would abort the process instead.
		return chatview.ErrNoDisplay
	}
	if err := uiInit(); err != nil {
		return err
	}
	s := &server{
		windows: make(map[string]uiWindow), opening: make(map[string][]uint64),
		events: make(chan chatview.Event, 256),
	}
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
			if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
				continue // from the daemon, which sends nothing else
			}
			switch c.Op {
			case chatview.OpOpen:
				uiDo(func() { s.open(c) })
			case chatview.OpWarm:
				if origin, err := webOrigin(c.URL); err == nil {
					uiDo(func() { uiWarm(origin) })
				}
			}
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
	// opening holds the keys whose window is being made, with the IDs of
	// the opens to answer when it is.
	opening map[string][]uint64
	events  chan chatview.Event
}

// webOrigin returns the origin of an http(s) URL.
func webOrigin(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("not a web address: %q", raw)
	}
	return u.Scheme + "://" + u.Host, nil
}

// open makes c's window, or raises it if it is open.
func (s *server) open(c chatview.Command) {
	s.events <- chatview.Event{Ev: chatview.EvAccepted, ID: c.ID, Key: c.Key}
	if w := s.windows[c.Key]; w != nil {
		w.present()
		s.events <- chatview.Event{Ev: chatview.EvOpened, ID: c.ID, Key: c.Key}
		return
	}
	if ids, ok := s.opening[c.Key]; ok {
		s.opening[c.Key] = append(ids, c.ID)
		return
	}
	if _, err := webOrigin(c.URL); err != nil {
		s.events <- chatview.Event{Ev: chatview.EvFailed, ID: c.ID, Key: c.Key, Err: err.Error()}
		return
	}
	s.opening[c.Key] = []uint64{c.ID}
	var made uiWindow
	uiOpen(c.Title, c.URL, func(w uiWindow, err error) {
		ids := s.opening[c.Key]
		delete(s.opening, c.Key)
		e := chatview.Event{Ev: chatview.EvOpened, Key: c.Key}
		if err != nil {
			e = chatview.Event{Ev: chatview.EvFailed, Key: c.Key, Err: err.Error()}
		} else {
			made = w
			s.windows[c.Key] = w
		}
		for _, id := range ids {
			e.ID = id
			s.events <- e
		}
	}, func() {
		// Closed by the user (or, without a webview, handed to the
		// browser): the room stays; only its window is gone.
		if made != nil && s.windows[c.Key] == made {
			delete(s.windows, c.Key)
			s.events <- chatview.Event{Ev: chatview.EvClosed, Key: c.Key}
			// The last window: its web engine may start afresh. Later,
			// from the loop: not inside the toolkit's handling of the
			// window's end, and only if no open came meanwhile.
			go uiDo(func() {
				if len(s.windows) == 0 && len(s.opening) == 0 {
					uiRecycle()
				}
			})
		}
	})
}
