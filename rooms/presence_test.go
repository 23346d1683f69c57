package rooms

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// A retained presence is a hint, not proof: on a cluster whose nodes keep
// retained messages to themselves (RabbitMQ), a member who moved to
// another node leaves its old copy behind. A member listed only from such
// a copy is dropped once the members have had time to answer our ask
// live; one who answers stays.
func TestRetainedPresenceNeedsLiveAnswer(t *testing.T) {
	listed := func(fx replayFixture) bool {
		for _, m := range fx.r.info(fuzzIdentity(t, 1).Member()).Members {
			if m.Name == "Bilal" {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		name    string
		packets []bool // retained or not, in order
		want    bool
	}{
		{"a retained copy alone", []bool{true}, false},
		{"a retained copy, then the live answer", []bool{true, false}, true},
		{"live, then a retained copy (subscribing again)", []bool{false, true}, true},
		{"live only", []bool{false}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			fx := newReplayFixture(t)
			for _, retained := range c.packets {
				fx.svc.deliverNow(fx.r, fx.presence(1, 0, retained))
			}
			if !listed(fx) {
				t.Fatal("Bilal not listed before the confirmation window ends")
			}
			fx.svc.confirmPresence(fx.r)
			if got := listed(fx); got != c.want {
				t.Errorf("Bilal listed after the window: %v, want %v", got, c.want)
			}
			// A live presence later lists him again.
			fx.svc.deliverNow(fx.r, fx.presence(1, 0, false))
			if !listed(fx) {
				t.Error("Bilal's live presence after the window did not list him")
			}
		})
	}
}

// countingBroker counts the presences each client id publishes.
type countingBroker struct {
	hookedBroker
	presences atomic.Int64
	topic     atomic.Pointer[string] // the presence topic to count
}

func newCountingBroker() *countingBroker {
	b := &countingBroker{}
	b.hookedBroker = hookedBroker{memBroker: newMemBroker(), hook: func(_ context.Context, p Packet, publish func() error) error {
		if tp := b.topic.Load(); tp != nil && p.Topic == *tp && len(p.Payload) > 0 {
			b.presences.Add(1)
		}
		return publish()
	}}
	return b
}

// A member (or anyone with the room key) asking the room again and again
// to announce itself gets at most one announcement per announceInterval
// from each member: asks cannot make the members publish in a loop.
func TestAskFloodIsPaced(t *testing.T) {
	b := newCountingBroker()
	reg := newMemRegistry()
	asha, _ := newTestService(t, "Asha", reg, b)
	inv, err := asha.Create(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	r := asha.room(inv.Room)
	topic := r.topics.presenceOf(asha.me)
	b.topic.Store(&topic)

	mallory := fuzzIdentity(t, 9)
	mtopic := r.topics.presenceOf(mallory.Member())
	const asks = 500
	start := time.Now()
	for range asks {
		body := presenceBody("Mallory")
		body.Ask = true
		payload := sealPresence(t, r.key, mtopic, mallory, body)
		b.publish(Packet{Topic: mtopic, Payload: payload})
	}
	// The answers coalesce: one at once (or after the interval since the
	// join's announcement), one more after the next interval at most.
	waitFor(t, "Asha's answer", func() bool { return b.presences.Load() >= 1 })
	time.Sleep(2 * announceInterval) // observing a rate: nothing to wait for
	elapsed := time.Since(start)
	limit := int64(elapsed/announceInterval) + 1
	if n := b.presences.Load(); n > limit {
		t.Errorf("%d asks made Asha announce herself %d times in %v; at most %d", asks, n, elapsed.Round(time.Millisecond), limit)
	} else {
		t.Logf("%d asks in a burst: %d announcements in %v", asks, n, elapsed.Round(time.Millisecond))
	}
}
