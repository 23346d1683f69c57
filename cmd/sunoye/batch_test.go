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
	c := asha.Client()
	sendAll := func(texts []string) {
		var wg sync.WaitGroup
		errs := make(chan error, len(texts))
		for _, text := range texts {
			wg.Go(func() {
				if _, err := c.Send(t.Context(), inv.Room, text); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("send: %v", err)
		}
	}
	// Batches go once the presences the broker keeps have had time to
	// come after the session opened (a few seconds): until then each
	// message goes alone. So bursts, until one went in batches.
	const n = 100
	var texts []string
	deadline := time.Now().Add(30 * time.Second)
	for round := 0; ; round++ {
		before := strings.Count(asha.Log(), "messages sent together")
		texts = texts[:0]
		for i := range n {
			texts = append(texts, fmt.Sprintf("burst %d-%03d", round, i))
		}
		sendAll(texts)
		if strings.Count(asha.Log(), "messages sent together") > before {
			t.Logf("burst %d of %d messages went in batches", round, n)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d bursts in 30 s, none in batches", round+1)
		}
		time.Sleep(100 * time.Millisecond) // pacing the bursts, not waiting for a condition
	}
	eventually(t, 30*time.Second, func() error {
		got := map[string]bool{}
		for _, m := range history(t, bilal, inv.Room) {
			got[m.Text] = true
		}
		for _, text := range texts {
			if !got[text] {
				return fmt.Errorf("Bilal does not show %q yet", text)
			}
		}
		return nil
	})
	for who, d := range map[string]*testenv.Daemon{"Asha": asha, "Bilal": bilal} {
		seen := make(map[string]int)
		for _, msg := range history(t, d, inv.Room) {
			if seen[msg.Text]++; seen[msg.Text] > 1 {
				t.Errorf("%s shows %q twice", who, msg.Text)
			}
		}
		for _, text := range texts {
			if seen[text] != 1 {
				t.Errorf("%s shows %q %d times", who, text, seen[text])
			}
		}
		if r, err := roomInfo(t.Context(), d, inv.Room); err != nil || r.Rejected != 0 {
			t.Errorf("%s: %d rejected (%v)", who, r.Rejected, err)
		}
	}
}
