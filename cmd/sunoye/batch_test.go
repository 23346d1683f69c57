package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
)

// Messages sent at once through a daemon's local API — a script, several
// windows — travel together over a real broker, and the other member's
// daemon shows each once: batches sealed once, opened once, acknowledged
// once all their messages are shown.
func TestBurstThroughDaemons(t *testing.T) {
	m := testenv.StartMosquitto(t)
	asha, bilal, inv := roomOfTwo(t, backend{first: m.URL(), others: m.URL(), db: testenv.MariaDB(t), mosquitto: m})
	const n = 300
	c := asha.Client()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			if _, err := c.Send(t.Context(), inv.Room, fmt.Sprintf("burst %03d", i)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("send: %v", err)
	}
	eventually(t, 30*time.Second, func() error {
		if got := len(history(t, bilal, inv.Room)); got < n {
			return fmt.Errorf("Bilal shows %d of %d", got, n)
		}
		return nil
	})
	for who, d := range map[string]*testenv.Daemon{"Asha": asha, "Bilal": bilal} {
		seen := make(map[string]int)
		for _, msg := range history(t, d, inv.Room) {
			seen[msg.Text]++
		}
		for i := range n {
			if text := fmt.Sprintf("burst %03d", i); seen[text] != 1 {
				t.Errorf("%s shows %q %d times", who, text, seen[text])
			}
		}
		if r, err := roomInfo(t.Context(), d, inv.Room); err != nil || r.Rejected != 0 {
			t.Errorf("%s: %d rejected (%v)", who, r.Rejected, err)
		}
	}
	batches := strings.Count(asha.Log(), "messages sent together")
	t.Logf("%d messages sent at once through the API; %d batches among their packets", n, batches)
	if batches == 0 {
		t.Error("no messages were sent together")
	}
}
