package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/web"
)

// stopRooms is how many rooms the daemon of BenchmarkStop has joined.
const stopRooms = 2

// BenchmarkStop measures how long a daemon with stopRooms joined rooms
// takes to start (from exec until its local API answers and every room is
// connected) and to stop (from SIGTERM until the process has exited), with
// the broker up, with the broker down (mosquitto stopped, and the daemon
// has noticed), and with the registry unreachable (its connections cut
// and new ones held unanswered, as behind a firewall that drops packets).
// A chat stream (`sunoye tail`) is open on the API while the daemon stops,
// as a chat window's would be.
//
// Each iteration is one start and one stop; run it with -benchtime 10x
// (or more) for percentiles worth the name. The timer runs only while the
// daemon starts and stops, not while the broker or the registry is taken
// down or brought back.
func BenchmarkStop(b *testing.B) {
	for _, c := range []string{"broker-up", "broker-down", "broker-frozen", "registry-down"} {
		b.Run(c, func(b *testing.B) {
			r := newStopRig(b, stopRooms)
			var starts, stops []time.Duration
			for b.Loop() {
				starts = append(starts, r.start(b))
				b.StopTimer()
				switch c {
				case "broker-down":
					r.mosquitto.Stop(b)
					r.waitConnected(b, false)
				case "broker-frozen":
					r.mosquitto.Freeze(b)
				case "registry-down":
					r.registry.Cut()
				}
				b.StartTimer()
				d, ok := r.stop(b, time.Minute)
				if !ok {
					b.Fatalf("%s: the daemon had not exited %v after SIGTERM\n%s", c, d, tail(r.d.Log(), 30))
				}
				stops = append(stops, d)
				b.StopTimer()
				switch c {
				case "broker-down":
					r.mosquitto.Start(b)
				case "broker-frozen":
					r.mosquitto.Thaw(b)
				case "registry-down":
					r.registry.Heal()
				}
				b.StartTimer()
			}
			b.StopTimer()
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			b.ReportMetric(ms(percentile(starts, 50)), "start-p50-ms")
			b.ReportMetric(ms(percentile(starts, 99)), "start-p99-ms")
			b.ReportMetric(ms(percentile(stops, 50)), "stop-p50-ms")
			b.ReportMetric(ms(percentile(stops, 99)), "stop-p99-ms")
			b.ReportMetric(ratio(percentile(stops, 50), percentile(starts, 50)), "stop/start-p50")
		})
	}
}

// stopRig is a daemon with joined rooms on its own mosquitto, and on a
// MariaDB database reached through a proxy that can be cut. The daemon is
// stopped between cycles.
type stopRig struct {
	mosquitto *testenv.Mosquitto
	registry  *testenv.Proxy
	d         *testenv.Daemon
	rooms     []string
	follow    context.CancelFunc
}

func newStopRig(tb testing.TB, n int) *stopRig {
	tb.Helper()
	m := testenv.StartMosquitto(tb)
	u, err := url.Parse(testenv.MariaDB(tb))
	if err != nil {
		tb.Fatal(err)
	}
	proxy := testenv.StartProxy(tb, u.Host)
	u.Host = proxy.Addr()
	d := testenv.StartDaemon(tb, testenv.DaemonConfig{Broker: m.URL(), DB: u.String(), Name: "Quinn"})
	r := &stopRig{mosquitto: m, registry: proxy, d: d}
	for range n {
		res := d.Run(tb, "create", "--json")
		var inv web.InviteJSON
		if res.Code != 0 || json.Unmarshal([]byte(res.Stdout), &inv) != nil {
			tb.Fatalf("sunoye create: exit %d: %s%s", res.Code, res.Stdout, res.Stderr)
		}
		r.rooms = append(r.rooms, inv.Room)
	}
	d.Stop(tb)
	return r
}

// start starts the daemon and returns how long it took until its API
// answered and listed every room connected. A chat stream is then opened
// on the first room; it ends with the daemon.
func (r *stopRig) start(tb testing.TB) time.Duration {
	tb.Helper()
	t0 := time.Now()
	r.d.Start(tb)
	r.waitConnected(tb, true)
	took := time.Since(t0)
	r.follow = openStream(tb, r.d, r.rooms[0])
	return took
}

// stop sends SIGTERM and returns how long the daemon took to exit, and
// whether it did within the limit.
func (r *stopRig) stop(tb testing.TB, limit time.Duration) (time.Duration, bool) {
	tb.Helper()
	defer r.follow()
	t0 := time.Now()
	r.d.Signal(tb, syscall.SIGTERM)
	select {
	case <-r.d.Done():
		return time.Since(t0), true
	case <-time.After(limit):
		return time.Since(t0), false
	}
}

// waitConnected waits until the daemon lists all its rooms with their
// broker connections up (want) or down.
func (r *stopRig) waitConnected(tb testing.TB, want bool) {
	tb.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		rs, err := r.d.Client().Rooms(ctx)
		cancel()
		if err == nil && len(rs) == len(r.rooms) && allIn(rs, want) {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("rooms connected = %v not reached: %d of %d rooms listed (err %v)\n%s", want, len(rs), len(r.rooms), err, tail(r.d.Log(), 20))
		}
		time.Sleep(5 * time.Millisecond) // polling the API
	}
}

// allIn reports whether every room's broker connection is up (want true)
// or every one down.
func allIn(rs []web.RoomJSON, want bool) bool {
	for _, r := range rs {
		if r.Connected != want {
			return false
		}
	}
	return true
}

// openStream opens a chat stream of room on d's API (`sunoye tail`'s) and
// returns once the daemon has answered it; the stream stays open until
// the returned function is called or the daemon goes.
func openStream(tb testing.TB, d *testenv.Daemon, room string) (closeStream func()) {
	tb.Helper()
	c := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", d.Socket())
		},
	}}
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://sunoye/v1/rooms/"+room+"/messages?follow=1", nil)
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		cancel()
		tb.Fatalf("open a chat stream: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		tb.Fatalf("open a chat stream: %s", resp.Status)
	}
	go io.Copy(io.Discard, resp.Body)
	return func() {
		cancel()
		resp.Body.Close()
	}
}
