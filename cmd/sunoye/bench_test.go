package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"slices"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/sunoye/sunoye/db"
	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/mqttx"
	"github.com/sunoye/sunoye/rooms"
)

// The benchmarks run SunOye's core the way the daemon wires it, against a
// real mosquitto and MariaDB, beside raw paho over the same broker in the
// same run:
//
//	go test ./cmd/sunoye -run '^$' -bench . -benchtime 2000x -count 5

// benchService wires a Service to the broker and registry.
func benchService(b *testing.B, broker, dsn, name string) *rooms.Service {
	b.Helper()
	reg, err := db.Open(b.Context(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { reg.Close() })
	tr, err := mqttx.New(mqttx.Config{Broker: broker})
	if err != nil {
		b.Fatal(err)
	}
	svc, err := rooms.NewService(rooms.Config{Identity: rooms.NewIdentity(), Name: name, Logger: slog.New(slog.DiscardHandler)}, reg, tr, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		svc.Shutdown(ctx)
	})
	return svc
}

// rawPaho is a publisher and a subscriber of one topic, QoS 1, as the
// original project used MQTT (but with QoS 1 like SunOye).
func rawPaho(b *testing.B, broker, topic string) (publish func() error, got <-chan time.Time) {
	ch := make(chan time.Time, 1024)
	connect := func(id string, onConnect mqtt.OnConnectHandler) mqtt.Client {
		o := mqtt.NewClientOptions().AddBroker(broker).SetClientID(id).SetOnConnectHandler(onConnect)
		c := mqtt.NewClient(o)
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			b.Fatalf("paho connect: %v", tok.Error())
		}
		b.Cleanup(func() { c.Disconnect(100) })
		return c
	}
	subscribed := make(chan struct{})
	connect("bench-raw-sub-"+randHex(), func(c mqtt.Client) {
		c.Subscribe(topic, 1, func(mqtt.Client, mqtt.Message) { ch <- time.Now() }).Wait()
		close(subscribed)
	})
	<-subscribed
	pub := connect("bench-raw-pub-"+randHex(), nil)
	payload := make([]byte, 300) // about a SunOye payload of a short message
	return func() error {
		tok := pub.Publish(topic, 1, false, payload)
		tok.Wait()
		return tok.Error()
	}, ch
}

func randHex() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// BenchmarkRoundTrip is a message's trip from publish to receipt: raw
// paho (publish → the subscriber's callback), and SunOye (Service.Send →
// the other daemon's Service has decrypted, verified and stored it),
// alternating in every iteration.
func BenchmarkRoundTrip(b *testing.B) {
	m := testenv.StartMosquitto(b)
	dsn := testenv.MariaDB(b)
	asha, bilal := benchService(b, m.URL(), dsn, "Asha"), benchService(b, m.URL(), dsn, "Bilal")
	inv, err := asha.Create(b.Context(), "")
	if err != nil {
		b.Fatal(err)
	}
	if err := bilal.Join(b.Context(), inv.Room, inv.Password); err != nil {
		b.Fatal(err)
	}
	events, cancel := bilal.Subscribe(4096)
	defer cancel()
	publish, rawGot := rawPaho(b, m.URL(), "bench/raw/"+randHex())

	var raw, sunoye []time.Duration
	text := "a short chat message of about the usual length, nothing more"
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if err := publish(); err != nil {
			b.Fatal(err)
		}
		raw = append(raw, (<-rawGot).Sub(start))

		start = time.Now()
		if _, err := asha.Send(b.Context(), inv.Room, text); err != nil {
			b.Fatal(err)
		}
		for e := range events {
			if e.Kind == rooms.EventMessage && e.Room == inv.Room {
				break
			}
		}
		sunoye = append(sunoye, time.Since(start))
	}
	b.StopTimer()
	report(b, "raw", raw)
	report(b, "sunoye", sunoye)
	b.ReportMetric(percentile(sunoye, 50).Seconds()/percentile(raw, 50).Seconds(), "p50-ratio")
	b.ReportMetric(percentile(sunoye, 99).Seconds()/percentile(raw, 99).Seconds(), "p99-ratio")
}

// BenchmarkJoin is the cost of joining a room with its password: the
// Argon2id derivation, the registry (MariaDB) and the broker session.
// Each iteration leaves again.
func BenchmarkJoin(b *testing.B) {
	m := testenv.StartMosquitto(b)
	dsn := testenv.MariaDB(b)
	asha, bilal := benchService(b, m.URL(), dsn, "Asha"), benchService(b, m.URL(), dsn, "Bilal")
	inv, err := asha.Create(b.Context(), "")
	if err != nil {
		b.Fatal(err)
	}
	var joins []time.Duration
	for b.Loop() {
		start := time.Now()
		if err := bilal.Join(b.Context(), inv.Room, inv.Password); err != nil {
			b.Fatal(err)
		}
		joins = append(joins, time.Since(start))
		b.StopTimer()
		if err := bilal.Leave(b.Context(), inv.Room); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	report(b, "join", joins)
}

func report(b *testing.B, name string, ds []time.Duration) {
	b.ReportMetric(float64(percentile(ds, 50).Microseconds()), name+"-p50-µs")
	b.ReportMetric(float64(percentile(ds, 99).Microseconds()), name+"-p99-µs")
}

func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
}
