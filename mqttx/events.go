package mqttx

import "sync"

// events runs a session's OnConnect and OnDisconnect callbacks one after the
// other on a goroutine of their own. Paho starts a goroutine per event,
// which lets a quick blip report "connected" before "disconnected"; one
// ordered runner keeps the domain's view in step with the connection.
// Events are few (a reconnection takes a second at least), so the pending
// list needs no bound.
type events struct {
	mu      sync.Mutex
	pending []func()
	wake    chan struct{}
}

func newEvents() *events { return &events{wake: make(chan struct{}, 1)} }

// post queues f; a nil f is ignored.
func (e *events) post(f func()) {
	if f == nil {
		return
	}
	e.mu.Lock()
	e.pending = append(e.pending, f)
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// run calls the posted functions in order until done is closed; those
// still pending then are dropped.
func (e *events) run(done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case <-e.wake:
		}
		for {
			e.mu.Lock()
			if len(e.pending) == 0 {
				e.mu.Unlock()
				break
			}
			f := e.pending[0]
			e.pending = e.pending[1:]
			e.mu.Unlock()
			select {
			case <-done:
				return
			default:
			}
			f()
		}
	}
}
