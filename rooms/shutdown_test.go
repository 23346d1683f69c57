package rooms

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// silentBroker is a memBroker that, once silent, acknowledges no publish:
// each waits for its context, as over a connection to a broker that has
// hung. waiting gets the topic of each such publish as it begins.
type silentBroker struct {
	hookedBroker
	silent  atomic.Bool
	waiting chan string
}

func newSilentBroker() *silentBroker {
	b := &silentBroker{waiting: make(chan string, 16)}
	b.hookedBroker = hookedBroker{memBroker: newMemBroker(), hook: func(ctx context.Context, p Packet, publish func() error) error {
		if !b.silent.Load() {
			return publish()
		}
		b.waiting <- p.Topic
		<-ctx.Done()
		return ctx.Err()
	}}
	return b
}

// silentRegistry is a memRegistry whose Leave, once silent, waits for its
// context; left gets what it returned.
type silentRegistry struct {
	*memRegistry
	silent atomic.Bool
	left   chan error
}

func (g *silentRegistry) Leave(ctx context.Context, id ID, token []byte) error {
	if !g.silent.Load() {
		return g.memRegistry.Leave(ctx, id, token)
	}
	<-ctx.Done()
	g.left <- ctx.Err()
	return ctx.Err()
}

// Shutdown with a broker and a registry that answer nothing ends with its
// context: an announcement waiting for its acknowledgement is ended rather
// than waited for (its own limit is publishTimeout, 10 s), the presence is
// still cleared (published, its acknowledgement given up on), and every
// lease's release is tried, all at once.
func TestShutdownDoesNotWaitForSilentServers(t *testing.T) {
	b := newSilentBroker()
	g := &silentRegistry{memRegistry: newMemRegistry(), left: make(chan error, 16)}
	svc, _ := newTestService(t, "Quinn", g, b)
	const n = 2
	for range n {
		if _, err := svc.Create(t.Context(), ""); err != nil {
			t.Fatal(err)
		}
	}
	b.silent.Store(true)
	g.silent.Store(true)

	// An announcement under way in every room, waiting for the broker.
	presence := make(map[string]bool)
	for _, r := range svc.joined() {
		presence[r.topics.presenceOf(svc.me)] = true
		go svc.announce(r, false)
	}
	for range n {
		if topic := <-b.waiting; !presence[topic] {
			t.Fatalf("publish to %s, want a presence topic", topic)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan struct{})
	go func() {
		svc.Shutdown(ctx)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(publishTimeout / 2):
		t.Fatal("Shutdown is still waiting for the broker or the registry")
	}
	// The clears were published in every room (and not acknowledged).
	for range n {
		select {
		case topic := <-b.waiting:
			if !presence[topic] {
				t.Errorf("publish to %s at shutdown, want a presence topic", topic)
			}
		default:
			t.Fatal("a room's presence was not cleared at shutdown")
		}
	}
	for range n {
		select {
		case err := <-g.left:
			if err == nil {
				t.Error("a silent registry's Leave returned nil")
			}
		default:
			t.Fatal("a room's lease was not released at shutdown")
		}
	}
}
