//go:build !(linux && cgo && !nowebview)

package window

import "sync"

// Where no GTK runs Serve's loop (the browser build; Windows, whose
// windows are child processes), the "toolkit" is a queue of functions run
// by uiRun on the main goroutine.
var (
	queue    = make(chan func(), 64)
	quit     = make(chan struct{})
	quitOnce sync.Once
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

func uiQuit()       { quitOnce.Do(func() { close(quit) }) }
func uiDo(f func()) { queue <- f }
