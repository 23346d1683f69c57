package mqttx

import (
	"context"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
)

// The benchmarks compare this Transport with a plain Paho client doing the
// same (QoS 1 both ways, persistent sessions, publish and wait for the
// PUBACK) over the same mosquitto, alternating the two in every iteration
// so that machine noise hits both alike. They report each side's figure
// and the ratio transport/paho; ns/op is the time of both sides together.
//
//	go test ./mqttx/ -run '^$' -bench . -benchtime 2000x -count 5

// pair is one side of a benchmark: publish sends one message, and every
// message received is signalled on got.
type pair struct {
	publish func(ctx context.Context, payload []byte) error
	got     chan struct{}
}

// transportPair is a publishing and a subscribing session of a Transport.
func transportPair(b *testing.B, url, topic string) pair {
	b.Helper()
	tr, err := New(testConfig(url))
	if err != nil {
		b.Fatal(err)
	}
	got := make(chan struct{}, 1<<16)
	sub, err := tr.Open(b.Context(), rooms.SessionConfig{
		ClientID: unique("bench-sub-"), Filters: []string{topic},
		Deliver: func(_ rooms.Packet, handled func()) { got <- struct{}{}; handled() },
	})
	if err != nil {
		b.Fatal(err)
	}
	pub, err := tr.Open(b.Context(), rooms.SessionConfig{ClientID: unique("bench-pub-"), Deliver: func(_ rooms.Packet, handled func()) { handled() }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		pub.Close(context.Background(), true)
		sub.Close(context.Background(), true)
	})
	return pair{
		publish: func(ctx context.Context, payload []byte) error {
			return pub.Publish(ctx, rooms.Packet{Topic: topic, Payload: payload})
		},
		got: got,
	}
}

// pahoPair is the same with plain Paho clients.
func pahoPair(b *testing.B, url, topic string) pair {
	b.Helper()
	connect := func(handler mqtt.MessageHandler) mqtt.Client {
		o := mqtt.NewClientOptions().AddBroker(url).SetClientID(unique("bench-paho-")).
			SetCleanSession(false).SetProtocolVersion(4).SetDefaultPublishHandler(handler)
		c := mqtt.NewClient(o)
		if tok := c.Connect(); !tok.WaitTimeout(patience) || tok.Error() != nil {
			b.Fatalf("paho connect: %v", tok.Error())
		}
		b.Cleanup(func() { c.Disconnect(250) })
		return c
	}
	got := make(chan struct{}, 1<<16)
	sub := connect(func(mqtt.Client, mqtt.Message) { got <- struct{}{} })
	if tok := sub.Subscribe(topic, 1, nil); !tok.WaitTimeout(patience) || tok.Error() != nil {
		b.Fatalf("paho subscribe: %v", tok.Error())
	}
	pub := connect(nil)
	return pair{
		publish: func(ctx context.Context, payload []byte) error {
			tok := pub.Publish(topic, 1, false, payload)
			select {
			case <-tok.Done():
				return tok.Error()
			case <-ctx.Done():
				return ctx.Err()
			}
		},
		got: got,
	}
}

func benchPairs(b *testing.B) (transport, paho pair) {
	m := testenv.StartMosquitto(b)
	room := unique("bench/")
	return transportPair(b, m.URL(), room+"/transport"), pahoPair(b, m.URL(), room+"/paho")
}

// payload is the size of a typical SunOye message once encrypted.
var payload = make([]byte, 1024)

// BenchmarkRoundTrip measures the latency from Publish to Deliver, one
// message at a time.
func BenchmarkRoundTrip(b *testing.B) {
	transport, paho := benchPairs(b)
	ctx := b.Context()
	roundTrip := func(p pair) time.Duration {
		start := time.Now()
		if err := p.publish(ctx, payload); err != nil {
			b.Fatal(err)
		}
		<-p.got
		return time.Since(start)
	}
	var tt, tp time.Duration
	n := 0
	for b.Loop() {
		tt += roundTrip(transport)
		tp += roundTrip(paho)
		n++
	}
	b.ReportMetric(float64(tt.Microseconds())/float64(n), "transport-µs/msg")
	b.ReportMetric(float64(tp.Microseconds())/float64(n), "paho-µs/msg")
	b.ReportMetric(float64(tt)/float64(tp), "transport/paho")
}

// BenchmarkThroughput measures messages per second with 16 publishers
// under way at once; an iteration is a burst of 256 messages.
func BenchmarkThroughput(b *testing.B) {
	const burst, publishers = 256, 16
	transport, paho := benchPairs(b)
	ctx := b.Context()
	run := func(p pair) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for range publishers {
			wg.Go(func() {
				for range burst / publishers {
					if err := p.publish(ctx, payload); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		for range burst {
			<-p.got
		}
		wg.Wait()
		return time.Since(start)
	}
	var tt, tp time.Duration
	n := 0
	for b.Loop() {
		tt += run(transport)
		tp += run(paho)
		n++
	}
	msgs := float64(n * burst)
	b.ReportMetric(msgs/tt.Seconds(), "transport-msg/s")
	b.ReportMetric(msgs/tp.Seconds(), "paho-msg/s")
	b.ReportMetric(float64(tt)/float64(tp), "transport/paho")
}
