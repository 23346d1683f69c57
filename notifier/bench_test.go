//go:build linux

package notifier_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/notifier"
)

// BenchmarkMessageToNotify measures, for a message that Bilal sends, the
// time until Asha's notification server receives the Notify call, beside
// the time until the message reaches Asha's Service (plain MQTT delivery
// through the embedded broker, decryption and checks): the difference is
// what notifying costs. Reported as p50 and p99 in microseconds.
func BenchmarkMessageToNotify(b *testing.B) {
	bus := testenv.SessionBus(b)
	srv := testenv.NotificationServer(b, bus)
	c := newChat(b, newNotifier(b, bus, notifier.Options{}))

	var delivered, notified []time.Duration
	i := 0
	for b.Loop() {
		text := fmt.Sprintf("message %d", i)
		start := time.Now()
		send(b, c.bilal, c.room, text)
		c.arrived(b, text)
		delivered = append(delivered, time.Since(start))
		call := srv.WaitCall(b, i, wait)
		if call.Body != text {
			b.Fatalf("call %d has body %q, want %q", i, call.Body, text)
		}
		notified = append(notified, call.Received.Sub(start))
		i++
	}
	report(b, "delivered", delivered)
	report(b, "notified", notified)
}

// report adds the p50 and p99 of ds, in microseconds, to the benchmark's
// results.
func report(b *testing.B, name string, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	at := func(q float64) float64 {
		return float64(ds[int(q*float64(len(ds)-1))].Microseconds())
	}
	b.ReportMetric(at(0.50), name+"-p50-µs")
	b.ReportMetric(at(0.99), name+"-p99-µs")
}
