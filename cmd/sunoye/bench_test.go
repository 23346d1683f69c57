package main

import (
	"crypto/rand"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/roomstest"
	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
)

// The benchmarks run SunOye's core the way the daemon wires it, and real
// daemons, against a real mosquitto and MariaDB, beside baselines (raw
// Paho, the original project's Python stack, a daemon without rooms) in
// the same run; docs/performance.md has the commands and the figures.

// benchService wires a Service to the broker and registry.
func benchService(b *testing.B, broker, dsn, name string) *rooms.Service {
	b.Helper()
	return roomstest.NewService(b, roomstest.Config{Name: name, Broker: broker, DB: dsn})
}

func randHex() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
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
