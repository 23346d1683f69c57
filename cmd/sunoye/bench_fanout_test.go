package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/sunoye/sunoye/db"
	"github.com/sunoye/sunoye/internal/roomstest"
	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
)

// fanOutMembers is the size of the room in the fan-out benchmark.
const fanOutMembers = 50

// fanOutBurst is the messages in one burst: every member's broker queue
// (mosquitto's default, 1000 messages) and Deliver queue (1024) hold a
// whole burst even if all receivers fall behind.
const fanOutBurst = 200

// fanOut is one sender and many receivers; every receipt by any receiver
// is stamped on got.
type fanOut struct {
	name      string
	receivers int
	send      func() error // one message
	got       receipts
}

// sunoyeFanOut is a room of fanOutMembers SunOye members in this process:
// a Service each, with its own MQTT transport (one connection per member
// and room, as in a daemon) and a registry pool shared by all (as on one
// MariaDB).
func sunoyeFanOut(b *testing.B, broker, dsn string) fanOut {
	b.Helper()
	ctx := b.Context()
	reg, err := db.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { reg.Close() })
	members := make([]*rooms.Service, fanOutMembers)
	for i := range members {
		members[i] = roomstest.NewService(b, roomstest.Config{Name: fmt.Sprintf("member%02d", i), Broker: broker, Registry: reg})
	}
	inv, err := members[0].Create(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	f := fanOut{name: "sunoye", receivers: fanOutMembers - 1, got: newReceipts()}
	for _, svc := range members[1:] {
		if err := svc.Join(ctx, inv.Room, inv.Password); err != nil {
			b.Fatal(err)
		}
		events, cancel := svc.Subscribe(1 << 14)
		b.Cleanup(cancel)
		go func() {
			for e := range events {
				if e.Kind == rooms.EventMessage && !e.Message.Own {
					f.got <- time.Now()
				}
			}
		}()
	}
	f.send = func() error {
		_, err := members[0].Send(context.Background(), inv.Room, stackText)
		return err
	}
	return f
}

// pahoFanOut is the same with raw Paho clients (QoS 1, a payload of
// SunOye's size): one publisher and fanOutMembers-1 subscribers.
func pahoFanOut(b *testing.B, broker string) fanOut {
	b.Helper()
	topic := "bench/fanout/" + randHex()
	f := fanOut{name: "paho-q1", receivers: fanOutMembers - 1, got: newReceipts()}
	connect := func(id string, onConnect mqtt.OnConnectHandler) mqtt.Client {
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID(id).SetOnConnectHandler(onConnect))
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			b.Fatalf("paho connect: %v", tok.Error())
		}
		b.Cleanup(func() { c.Disconnect(100) })
		return c
	}
	for range f.receivers {
		subscribed := make(chan error, 1)
		connect("bench-fan-sub-"+randHex(), func(c mqtt.Client) {
			tok := c.Subscribe(topic, 1, func(mqtt.Client, mqtt.Message) { f.got <- time.Now() })
			tok.Wait()
			subscribed <- tok.Error()
		})
		if err := <-subscribed; err != nil {
			b.Fatal(err)
		}
	}
	pub := connect("bench-fan-pub-"+randHex(), nil)
	payload := make([]byte, sunoyePayloadSize(b))
	f.send = func() error {
		tok := pub.Publish(topic, 1, false, payload)
		tok.Wait()
		return tok.Error()
	}
	return f
}

// BenchmarkFanOut is one room of fanOutMembers members, in this process,
// beside the same number of raw Paho clients over the same mosquitto:
//
//   - latency: one message at a time, from the send to each of the other
//     members having it (p50 and p99 over all receipts);
//   - burst: fanOutBurst messages sent as fast as the sender can
//     (fanOutSenders concurrent sends, for both), the delivered messages
//     per second summed over all receivers.
//
// All members share this machine's two cores, so the burst rate is what
// one machine can decrypt and verify, not what 50 machines would.
//
//	go test ./cmd/sunoye -run '^$' -bench FanOut/latency -benchtime 200x -count 5
//	go test ./cmd/sunoye -run '^$' -bench FanOut/burst -benchtime 5x -count 5
func BenchmarkFanOut(b *testing.B) {
	m := testenv.StartMosquitto(b)
	dsn := testenv.MariaDB(b)
	stacks := []fanOut{pahoFanOut(b, m.URL()), sunoyeFanOut(b, m.URL(), dsn)}
	for _, f := range stacks { // warm-up
		for range 5 {
			f.once(b)
		}
	}

	b.Run("latency", func(b *testing.B) {
		lat := make([][]time.Duration, len(stacks))
		n := 0
		for b.Loop() {
			for k := range stacks {
				i := (n + k) % len(stacks)
				lat[i] = append(lat[i], stacks[i].once(b)...)
			}
			n++
		}
		b.StopTimer()
		for i, f := range stacks {
			report(b, f.name, lat[i])
		}
		for _, p := range []int{50, 99} {
			b.ReportMetric(ratio(percentile(lat[1], p), percentile(lat[0], p)), fmt.Sprintf("sunoye/paho-q1-p%d", p))
		}
	})

	b.Run("burst", func(b *testing.B) {
		total := make([]time.Duration, len(stacks))
		n := 0
		for b.Loop() {
			for k := range stacks {
				i := (n + k) % len(stacks)
				total[i] += stacks[i].burst(b, fanOutBurst)
			}
			n++
		}
		b.StopTimer()
		rate := make([]float64, len(stacks))
		for i, f := range stacks {
			rate[i] = float64(n*fanOutBurst*f.receivers) / total[i].Seconds()
			b.ReportMetric(rate[i], f.name+"-deliveries/s")
		}
		b.ReportMetric(rate[1]/rate[0], "sunoye/paho-q1-rate")
	})
}

// once sends one message and returns each receiver's latency.
func (f fanOut) once(b *testing.B) []time.Duration {
	b.Helper()
	start := time.Now()
	if err := f.send(); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, f.receivers)
	for i := range lat {
		lat[i] = f.got.next(b).Sub(start)
	}
	return lat
}

// fanOutSenders is how many sends a burst makes at once.
const fanOutSenders = 8

// burst sends n messages and returns the time until every receiver has
// all of them.
func (f fanOut) burst(b *testing.B, n int) time.Duration {
	b.Helper()
	start := time.Now()
	burstSends(b, n, fanOutSenders, f.send)
	return f.got.last(b, n*f.receivers).Sub(start)
}
