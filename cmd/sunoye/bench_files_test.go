package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
	"github.com/sunoye/sunoye/web"
)

// BenchmarkFileTransfer is the time to send a file of 8 MiB between two
// real daemons on loopback — from the sender's API call until the
// receiver's message stream shows the file, put together and checked —
// beside raw Paho sending the same bytes in pieces of the same size at
// QoS 1, from the first publish until the subscriber has the last piece.
// Both go through one mosquitto that takes no packet over 256 KiB.
func BenchmarkFileTransfer(b *testing.B) {
	m := testenv.StartMosquittoLimited(b, packetCap)
	dsn := testenv.MariaDB(b)
	data := make([]byte, rooms.MaxFileBytes)
	rand.Read(data)

	sunoye := daemonFileSender(b, m.URL(), dsn, data)
	paho := pahoFileSender(b, m.URL(), data)
	var ds, ps []time.Duration
	for b.Loop() {
		ds = append(ds, sunoye())
		ps = append(ps, paho())
	}
	report(b, "daemon", ds)
	report(b, "paho", ps)
	d50, p50 := percentile(ds, 50), percentile(ps, 50)
	b.ReportMetric(ratio(d50, p50), "daemon/paho-p50")
	b.Logf("8 MiB file, %d runs: daemons p50 %v, raw Paho p50 %v: %.1f×", len(ds), d50.Round(time.Millisecond), p50.Round(time.Millisecond), ratio(d50, p50))
}

// daemonFileSender returns a function that sends data as a file between
// two new daemons and returns how long it took to show at the receiver.
func daemonFileSender(b *testing.B, broker, dsn string, data []byte) func() time.Duration {
	asha := testenv.StartDaemon(b, testenv.DaemonConfig{Broker: broker, DB: dsn, Name: "Asha"})
	bilal := testenv.StartDaemon(b, testenv.DaemonConfig{Broker: broker, DB: dsn, Name: "Bilal"})
	ctx := b.Context()
	inv, err := asha.Client().Create(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := bilal.Client().Join(ctx, inv.Room, inv.Password); err != nil {
		b.Fatal(err)
	}
	got := make(chan web.MessageJSON, 16)
	fctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	go bilal.Client().Follow(fctx, inv.Room, func(m web.MessageJSON) error {
		got <- m
		return nil
	})
	client := asha.Client()
	return func() time.Duration {
		start := time.Now()
		sent, err := client.SendFile(ctx, inv.Room, "bench.bin", data, "")
		if err != nil {
			b.Fatal(err)
		}
		for {
			select {
			case m := <-got:
				if m.ID == sent.ID {
					return time.Since(start)
				}
			case <-time.After(2 * time.Minute):
				b.Fatal("the file did not arrive")
			}
		}
	}
}

// pahoFileSender returns a function that publishes data in pieces of
// rooms.PieceBytes at QoS 1, as many in flight as SunOye has, and returns
// how long until the subscriber has them all.
func pahoFileSender(b *testing.B, broker string, data []byte) func() time.Duration {
	topic := "bench/file/" + randHex()
	pieces := (len(data) + rooms.PieceBytes - 1) / rooms.PieceBytes
	got := make(chan struct{}, pieces*4)
	connect := func(id string, onConnect mqtt.OnConnectHandler) mqtt.Client {
		o := mqtt.NewClientOptions().AddBroker(broker).SetClientID(id).SetOnConnectHandler(onConnect)
		c := mqtt.NewClient(o)
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			b.Fatalf("paho connect: %v", tok.Error())
		}
		b.Cleanup(func() { c.Disconnect(100) })
		return c
	}
	subscribed := make(chan error, 1)
	connect("bench-file-sub-"+randHex(), func(c mqtt.Client) {
		tok := c.Subscribe(topic, 1, func(mqtt.Client, mqtt.Message) { got <- struct{}{} })
		tok.Wait()
		subscribed <- tok.Error()
	})
	if err := <-subscribed; err != nil {
		b.Fatalf("paho subscribe: %v", err)
	}
	pub := connect("bench-file-pub-"+randHex(), nil)
	return func() time.Duration {
		start := time.Now()
		sem := make(chan struct{}, 8)
		errs := make(chan error, pieces)
		for i := range pieces {
			sem <- struct{}{}
			piece := data[i*rooms.PieceBytes : min(len(data), (i+1)*rooms.PieceBytes)]
			tok := pub.Publish(topic, 1, false, piece)
			go func() {
				defer func() { <-sem }()
				if !tok.WaitTimeout(time.Minute) || tok.Error() != nil {
					errs <- fmt.Errorf("paho publish: %v", tok.Error())
				}
			}()
		}
		for range pieces {
			select {
			case <-got:
			case err := <-errs:
				b.Fatal(err)
			case <-time.After(2 * time.Minute):
				b.Fatal("the pieces did not arrive")
			}
		}
		return time.Since(start)
	}
}
