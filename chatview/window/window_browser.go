//go:build !(linux || windows) || !cgo || nowebview

package window

import "github.com/sunoye/sunoye/chatview"

// Native is false: windows are browser tabs.
const Native = false

// Without a webview the browser is the window (the loop: queueloop.go).

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
