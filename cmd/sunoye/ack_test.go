package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/sunoye/sunoye/web"
)

// A daemon frozen (a laptop asleep) while a member sends, woken and at once
// stopped cleanly, then started again, shows every message once: what it
// had not handled when it stopped was not acknowledged, and the broker
// sends it again. (Before messages were acknowledged after handling, 224
// to 271 of the 300 were lost here.)
func TestFrozenThenStoppedLosesNothing(t *testing.T) {
	const n = 300
	b := durableBackend(t)
	ds := startDaemonsWith(t, b.first, b.db, nil, "Asha", "Bilal", "Carol")
	asha, bilal := ds[0], ds[1]
	logsOnFailure(t, ds...)
	inv := gather(t, ds...)

	shown := startTail(t, bilal, inv.Room)
	bilal.Freeze(t)
	// One at a time, so that they are published in the order numbered.
	for i := 1; i <= n; i++ {
		must(t, asha, "send", inv.Room, seqText("Asha", i))
	}
	bilal.Thaw(t)
	bilal.Stop(t)

	tl := newTally()
	// What the first run showed before it stopped: its tail ends with it.
	for done := false; !done; {
		select {
		case m, ok := <-shown:
			if !ok {
				done = true
				break
			}
			tl.add(m)
		case <-time.After(30 * time.Second):
			t.Fatal("the tail of the stopped daemon did not end")
		}
	}
	before := tl.total()
	// The second run: its history holds what it showed (300 fit).
	bilal.Start(t)
	var second []web.MessageJSON
	eventually(t, time.Minute, func() error {
		second = history(t, bilal, inv.Room)
		if before+len(second) < n {
			return fmt.Errorf("shown %d of %d (%d before the stop)", before+len(second), n, before)
		}
		return nil
	})
	for _, m := range second {
		tl.add(m)
	}
	if err := tl.check(map[string]int{"Asha": n}, nil); err != nil {
		t.Errorf("%v (%d shown before the stop)", err, before)
	}
	t.Logf("%d of %d shown before the stop, the rest after the restart", before, n)
}
