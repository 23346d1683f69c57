//go:build !(linux || windows) || !cgo || nowebview

package window

import "github.com/sunoye/sunoye/chatview"

// Native is false: windows are browser tabs.
const Native = false

// Without a webview the browser is the window: the "toolkit" is a queue
// of functions run by uiRun.
var (
	queue = make(chan func(), 64)
	quit  = make(chan struct{})
)

func uiInit() error { return nil }

func uiRun() {
	for {
		select {
		case f := <-queue:
			f()
		case <-quit:
			return
		}
	}
}

func uiQuit()       { close(quit) }
func uiDo(f func()) { queue <- f }

type uiWindow = *tab

// tab is a page handed to the browser: SunOye cannot raise or close it,
// so as far as the daemon knows it is closed at once.
type tab struct{}

func (*tab) present() {}

func uiWarm(string) {}
func uiRecycle()    {}

func uiOpen(_, url string, opened func(uiWindow, error), closed func()) {
	if err := chatview.OpenBrowser(url); err != nil {
		opened(nil, err)
		return
	}
	opened(&tab{}, nil)
	go uiDo(closed)
}
