package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/web"
)

// scaleSizes are the numbers of joined rooms of the daemons compared by
// BenchmarkDaemonScale; 0 is the baseline.
var scaleSizes = []int{0, 1, 20, 200}

// settleTime is how long the restarted daemons are left alone before
// they are watched.
const settleTime = 45 * time.Second

// idleWindow is how long the daemons are watched while idle: three
// heartbeats (every 30 s), and 18 of any 5-second timer.
const idleWindow = 90 * time.Second

// BenchmarkDaemonScale runs real daemons (`sunoye up --headless` against
// mosquitto and MariaDB) that have joined 0, 1, 20 and 200 rooms, side by
// side, and reports for each size N, in metrics named "Nrooms-…":
//
//   - idle: resident memory (rss-MB, and pss-MB, which shares libraries
//     out), CPU (cpu-%: utime+stime over idleWindow, in percent of one
//     core), context switches (wakeups/s: voluntary ones, all threads),
//     and wake-ups from quiet (wakes/min, and min-wake-gap-s, the
//     shortest time between two), all daemons watched over the same
//     window; and the cost per room beside the 0-room daemon
//     (rss-KiB/room, wakeups/s/room);
//   - start-up (startup-ms): from starting the daemon with a state file of
//     N rooms to its local API listing all N connected, rejoined with their
//     saved keys (no key derivation), after a clean stop (SIGTERM), once
//     per iteration. ns/op is the start-ups of all sizes together.
//
// Each room is one MQTT connection with its own session, so the costs
// that grow with rooms are per connection. Every -count repeats all of it,
// rooms created anew (about two minutes).
//
//	go test ./cmd/sunoye -run '^$' -bench DaemonScale -benchtime 3x -count 5 -timeout 60m
func BenchmarkDaemonScale(b *testing.B) {
	m := testenv.StartMosquitto(b)
	dsn := testenv.MariaDB(b)
	ctx := b.Context()
	daemons := make([]*testenv.Daemon, len(scaleSizes))
	for i, n := range scaleSizes {
		d := testenv.StartDaemon(b, testenv.DaemonConfig{Broker: m.URL(), DB: dsn, Name: fmt.Sprintf("Scale%d", n)})
		for range n {
			if _, err := d.Client().Create(ctx, ""); err != nil {
				b.Fatalf("create room %d: %v", n, err)
			}
		}
		daemons[i] = d
	}
	// Another member's lease, far in the future, in every room: the rooms
	// stay active while their only daemon stops, as rooms with other
	// members do.
	testenv.Exec(b, dsn, `INSERT INTO sunoye_leases (room_no, generation, holder, expires_at)
		SELECT room_no, generation, UNHEX(SHA2('bench-keeper', 256)),
		       (TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(3)) DIV 1000) + 864000000
		FROM sunoye_rooms`)

	// Idle figures are taken after a restart, as after a login: the
	// daemon that created the rooms still holds memory from the key
	// derivations (64 MiB each), which a restart does not need.
	pids := make([]int, len(daemons))
	for i, d := range daemons {
		restartDaemon(b, d, scaleSizes[i])
		pids[i] = d.PID()
	}
	// Let start-up pass: for some 30 s after it starts, a daemon's runtime
	// still winds down (its sysmon thread wakes a few times a second while
	// the memory of start-up is returned to the system), and then sleeps
	// until the next heartbeat.
	time.Sleep(settleTime)
	idles := measureIdle(b, idleWindow, pids...)

	startups := make([]time.Duration, len(scaleSizes))
	for b.Loop() {
		for i, d := range daemons {
			startups[i] += restartDaemon(b, d, scaleSizes[i])
		}
	}
	b.StopTimer()
	base := idles[0]
	for i, n := range scaleSizes {
		in, name := idles[i], fmt.Sprintf("%drooms-", n)
		b.ReportMetric(float64(startups[i].Microseconds())/1000/float64(b.N), name+"startup-ms")
		b.ReportMetric(float64(in.rssKiB)/1024, name+"rss-MB")
		b.ReportMetric(float64(in.pssKiB)/1024, name+"pss-MB")
		b.ReportMetric(in.cpuPercent(), name+"cpu-%")
		b.ReportMetric(in.wakeupsPerSec(), name+"wakeups/s")
		b.ReportMetric(in.wakesPerMin(), name+"wakes/min")
		b.ReportMetric(in.minGap.Seconds(), name+"min-wake-gap-s")
		if n > 0 {
			b.ReportMetric(float64(in.rssKiB-base.rssKiB)/float64(n), name+"rss-KiB/room")
			b.ReportMetric((in.wakeupsPerSec()-base.wakeupsPerSec())/float64(n), name+"wakeups/s/room")
		}
	}
}

// restartDaemon stops d cleanly and starts it again, and returns the time
// from the start until its API lists its n rooms, all connected. The timer
// does not run while the daemon stops.
func restartDaemon(b *testing.B, d *testenv.Daemon, n int) time.Duration {
	b.Helper()
	b.StopTimer()
	d.Stop(b)
	b.StartTimer()
	start := time.Now()
	d.Start(b)
	deadline := start.Add(2 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		rs, err := d.Client().Rooms(ctx)
		cancel()
		if err == nil && len(rs) == n && allConnected(rs) {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			b.Fatalf("after a restart, %d of %d rooms listed (err %v)\n%s", len(rs), n, err, tail(d.Log(), 20))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// allConnected reports whether every room's broker connection is up.
func allConnected(rs []web.RoomJSON) bool {
	for _, r := range rs {
		if !r.Connected {
			return false
		}
	}
	return true
}
