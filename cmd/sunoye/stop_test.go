package main

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// A daemon told to stop while its broker is down exits (the clean stop
// does not wait for a broker that cannot answer), and loses nothing by it:
// the messages sent to its two rooms while it was stopping are shown once
// each after it starts again with the broker back, and what it had shown
// before the stop is not shown again. The broker is either stopped (the
// daemon has noticed) or frozen (SIGSTOP: the connections look open, and
// nothing is answered, not even the clearing of the presence). With a
// frozen broker the others also see the member gone once the broker wakes:
// it reads the clear and the DISCONNECT then. (How quickly the daemon
// exits is measured by BenchmarkStop, not here.)
func TestStopWithBrokerDownLosesNothing(t *testing.T) {
	t.Run("stopped", func(t *testing.T) { testStopWithBrokerDown(t, false) })
	t.Run("frozen", func(t *testing.T) { testStopWithBrokerDown(t, true) })
}

func testStopWithBrokerDown(t *testing.T, frozen bool) {
	const n = 10 // messages per room
	b := durableBackend(t)
	ds := startDaemonsWith(t, b.first, b.db, nil, "Asha", "Bilal")
	asha, bilal := ds[0], ds[1]
	logsOnFailure(t, ds...)
	rooms := []string{gather(t, ds...).Room, gather(t, ds...).Room}
	for _, room := range rooms {
		must(t, asha, "send", room, "before the stop")
		waitHistory(t, bilal, room, "Asha: before the stop")
	}

	if frozen {
		b.mosquitto.Freeze(t)
	} else {
		b.mosquitto.Stop(t)
		for _, room := range rooms {
			waitConnected(t, 30*time.Second, room, false, asha, bilal)
		}
	}
	// Asha's daemon holds these until the broker is back; the broker then
	// keeps them for Bilal's session.
	var sends []<-chan error
	want := make(map[string][]string)
	for i := 1; i <= n; i++ {
		for _, room := range rooms {
			text := fmt.Sprintf("sent while Bilal stopped, %d", i)
			want[room] = append(want[room], text)
			sends = append(sends, sendAsync(asha, room, text))
		}
	}
	sigterm := time.Now()
	bilal.Signal(t, syscall.SIGTERM)
	select {
	case <-bilal.Done():
		// Logged, not checked: the figures are BenchmarkStop's.
		t.Logf("Bilal's daemon exited %v after SIGTERM", time.Since(sigterm).Round(time.Millisecond))
	case <-time.After(30 * time.Second):
		t.Fatalf("Bilal's daemon had not exited 30 s after SIGTERM with the broker down")
	}

	if frozen {
		b.mosquitto.Thaw(t)
		for _, room := range rooms {
			waitMembers(t, 20*time.Second, room, 1, asha)
		}
	} else {
		b.mosquitto.Start(t)
	}
	waitSends(t, sends...)
	bilal.Start(t)
	for _, room := range rooms {
		eventually(t, time.Minute, func() error {
			if got := len(history(t, bilal, room)); got < n {
				return fmt.Errorf("room %s: %d of %d messages shown after the restart", room, got, n)
			}
			return nil
		})
	}
	// The broker has nothing more for Bilal once Asha's next message,
	// sent after all of them, has come: anything shown twice is there.
	for _, room := range rooms {
		must(t, asha, "send", room, "after the restart")
		want[room] = append(want[room], "after the restart")
		eventually(t, 20*time.Second, func() error {
			hist := history(t, bilal, room)
			if last := hist[len(hist)-1]; last.Text != "after the restart" {
				return fmt.Errorf("room %s: the last message is %q", room, last.Text)
			}
			return nil
		})
		if err := tallyOf(history(t, bilal, room)).check(nil, want[room]); err != nil {
			t.Errorf("room %s, shown after the restart: %v", room, err)
		}
	}
}
