package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/sunoye/sunoye/internal/testenv"
)

// Floods: one member, or anyone on the broker, publishing as fast as it
// can. The others' messages must still arrive promptly and their
// notifications still pop up, and no daemon may grow without bound: what
// a daemon cannot keep up with it drops and counts (`dropped` in rooms
// --json; bounded queues of 1024 packets or 16 MiB per room).
//
// The broker is a mosquitto set up as the README says (no bound on the
// queues of QoS 1 messages per client). With mosquitto's default bound of
// 1000 packets, a flood overflows a member's queue on the broker and
// mosquitto 2.0.11 drops whatever comes next for that member, control
// packets included: the others' messages, and the acknowledgement of the
// member's own (see docs/reliability.md, "Bad input").
func floodBackend(t *testing.T) backend {
	m := testenv.StartMosquittoPersistent(t)
	return backend{name: "mosquitto(README settings)+mariadb", first: m.URL(), others: m.URL(), db: testenv.MariaDB(t), mosquitto: m}
}

// floodFor is how long each flood lasts: long enough to fill every queue
// many times over, short enough for CI.
const floodFor = 8 * time.Second

// lateBound is how late a message may arrive during a flood before the
// test calls it starved: generous, for a loaded two-core machine.
const lateBound = 10 * time.Second

// arrivals records when texts first show in a daemon's history, polling
// it as a user's window would re-read it.
type arrivals struct {
	mu   sync.Mutex
	seen map[string]time.Time
	stop chan struct{}
	done chan struct{}
}

// watchHistory polls d's history of each room until stop.
func watchHistory(t *testing.T, d *testenv.Daemon, rooms ...string) *arrivals {
	a := &arrivals{seen: make(map[string]time.Time), stop: make(chan struct{}), done: make(chan struct{})}
	c := d.Client()
	go func() {
		defer close(a.done)
		for {
			select {
			case <-a.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			for _, room := range rooms {
				ms, err := c.History(t.Context(), room)
				if err != nil {
					continue
				}
				now := time.Now()
				a.mu.Lock()
				for _, m := range ms {
					if _, ok := a.seen[m.Text]; !ok {
						a.seen[m.Text] = now
					}
				}
				a.mu.Unlock()
			}
		}
	}()
	t.Cleanup(a.close)
	return a
}

func (a *arrivals) close() {
	select {
	case <-a.stop:
	default:
		close(a.stop)
	}
	<-a.done
}

func (a *arrivals) at(text string) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	at, ok := a.seen[text]
	return at, ok
}

// paced sends texts to rooms in turn, one every interval, until stop,
// and returns when each was sent (the user pressed Enter).
func paced(t *testing.T, d *testenv.Daemon, interval time.Duration, stop <-chan struct{}, rooms ...string) map[string]time.Time {
	sent := make(map[string]time.Time)
	c := d.Client()
	for i := 0; ; i++ {
		room := rooms[i%len(rooms)]
		text := fmt.Sprintf("Bilal in %s, #%d", room, i)
		ctx, cancel := context.WithTimeout(t.Context(), lateBound)
		at := time.Now()
		_, err := c.Send(ctx, room, text)
		cancel()
		if err != nil {
			t.Errorf("Bilal's send during the flood: %v", err)
		} else {
			sent[text] = at
		}
		select {
		case <-stop:
			return sent
		case <-time.After(interval):
		}
	}
}

// memoryPeak samples a process's RSS until stop and returns the peak.
func memoryPeak(t *testing.T, pid int, stop <-chan struct{}) <-chan footprint {
	out := make(chan footprint, 1)
	go func() {
		var peak footprint
		for {
			if f := footprintOf(t, pid); f.rssKiB > peak.rssKiB {
				peak = f
			}
			select {
			case <-stop:
				out <- peak
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return out
}

// latencies waits until every text sent has arrived, or lateBound has
// passed since it was sent, and returns how late each arrived (sorted) and
// which never did. A message that arrives later than lateBound counts as
// starved: the test fails.
func latencies(t *testing.T, what string, sent map[string]time.Time, got *arrivals) (ds []time.Duration, lost []string) {
	t.Helper()
	deadline := time.Now()
	for _, at := range sent {
		if at.Add(lateBound).After(deadline) {
			deadline = at.Add(lateBound)
		}
	}
	for {
		ds, lost = ds[:0], lost[:0]
		for text, at := range sent {
			if arrived, ok := got.at(text); ok {
				ds = append(ds, arrived.Sub(at))
			} else {
				lost = append(lost, text)
			}
		}
		if len(lost) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	slices.Sort(ds)
	if len(ds) > 0 && ds[len(ds)-1] > lateBound {
		t.Errorf("%s: a message arrived %v after it was sent, more than %v", what, ds[len(ds)-1], lateBound)
	}
	if len(ds) == 0 {
		t.Fatalf("%s: none of %d arrived within %v", what, len(sent), lateBound)
	}
	return ds, lost
}

// accounted fails the test unless every message lost is accounted for by
// packets the daemon dropped (its delivery queue was full): beyond what
// it can decrypt, a daemon drops and counts, and cannot tell a genuine
// message from garbage before decrypting it.
func accounted(t *testing.T, what string, lost []string, dropped uint64) {
	t.Helper()
	if len(lost) == 0 {
		return
	}
	if uint64(len(lost)) > dropped {
		t.Errorf("%s: %d never arrived (%q), and the daemon dropped only %d packets", what, len(lost), lost, dropped)
		return
	}
	t.Logf("%s: %d lost among the %d packets the daemon dropped and counted", what, len(lost), dropped)
}

func median(ds []time.Duration) time.Duration { return ds[len(ds)/2] }

// A member who sends as fast as the API lets it (eight senders at once)
// starves nobody: another member's messages, in the flooded room and in
// another room, arrive within seconds; that member's notifications in
// the other room still pop up; the receiving daemon's memory stays
// bounded (history 500 messages a room, notifications coalesced).
func TestMemberFlood(t *testing.T) {
	b := floodBackend(t)
	bus := testenv.SessionBus(t)
	notes := testenv.NotificationServer(t, bus)
	asha := testenv.StartDaemon(t, testenv.DaemonConfig{
		Broker: b.first, DB: b.db, Name: "Asha",
		Args: []string{}, // not headless: notifications on the private bus
		Env:  []string{"DBUS_SESSION_BUS_ADDRESS=" + bus, "DISPLAY="},
	})
	mallory := testenv.StartDaemon(t, testenv.DaemonConfig{Broker: b.others, DB: b.db, Name: "Mallory"})
	bilal := testenv.StartDaemon(t, testenv.DaemonConfig{Broker: b.others, DB: b.db, Name: "Bilal"})
	logsOnFailure(t, asha, bilal)
	flooded := create(t, asha)
	must(t, mallory, "join", flooded.Room, "--password", flooded.Password)
	must(t, bilal, "join", flooded.Room, "--password", flooded.Password)
	quiet := create(t, bilal)
	must(t, asha, "join", quiet.Room, "--password", quiet.Password)
	waitPresent(t, 20*time.Second, flooded.Room, 3, asha, bilal, mallory)
	waitPresent(t, 20*time.Second, quiet.Room, 2, asha, bilal)
	before := footprintOf(t, asha.PID())

	seen := watchHistory(t, asha, flooded.Room, quiet.Room)
	stop := make(chan struct{})
	peak := memoryPeak(t, asha.PID(), stop)
	var flood atomic.Int64
	var wg sync.WaitGroup
	c := mallory.Client()
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.Send(t.Context(), flooded.Room, fmt.Sprintf("flood %d/%d", w, i)); err != nil {
					t.Errorf("Mallory's send: %v", err)
					return
				}
				flood.Add(1)
			}
		}()
	}
	start := time.Now()
	time.AfterFunc(floodFor, func() { close(stop) })
	sent := paced(t, bilal, 400*time.Millisecond, stop, flooded.Room, quiet.Room)
	wg.Wait()
	rate := float64(flood.Load()) / time.Since(start).Seconds()

	var inFlooded, inQuiet = map[string]time.Time{}, map[string]time.Time{}
	for text, at := range sent {
		if strings.Contains(text, flooded.Room) {
			inFlooded[text] = at
		} else {
			inQuiet[text] = at
		}
	}
	lf, lostF := latencies(t, "Bilal in the flooded room", inFlooded, seen)
	lq, lostQ := latencies(t, "Bilal in the other room", inQuiet, seen)
	pk := <-peak
	if len(lostQ) > 0 {
		// The quiet room has a connection and a queue of its own: nothing
		// excuses a loss there.
		t.Errorf("Bilal's messages in the other room never arrived: %q", lostQ)
	}

	// Each of Bilal's messages in the quiet room got its notification:
	// the flood in the other room did not crowd them out.
	var notified []time.Duration
	eventually(t, lateBound, func() error {
		notified = notified[:0]
		calls := notes.Calls()
		for text, at := range inQuiet {
			i := slices.IndexFunc(calls, func(c testenv.NotifyCall) bool { return c.Body == text })
			if i < 0 {
				return fmt.Errorf("no notification for %q among %d", text, len(calls))
			}
			notified = append(notified, calls[i].Received.Sub(at))
		}
		return nil
	})
	slices.Sort(notified)

	r, _ := findRoom(roomsJSON(t, asha), flooded.Room)
	accounted(t, "Bilal's messages in the flooded room", lostF, r.Dropped)
	hist := history(t, asha, flooded.Room)
	if len(hist) > 500 {
		t.Errorf("Asha keeps %d messages of the flooded room, want at most 500", len(hist))
	}
	after := checkFootprint(t, "Asha's daemon", asha.PID(), before, 64, 4)
	if pk.rssKiB > before.rssKiB+128<<10 {
		t.Errorf("Asha's daemon peaked at %s during the flood, from %s", pk, before)
	}
	t.Logf("Mallory sent %d messages in %v (%.0f/s); Asha: %d unread, %d dropped, %d notifications in all",
		flood.Load(), floodFor, rate, r.Unread, r.Dropped, len(notes.Calls()))
	t.Logf("Bilal's messages reached Asha after: flooded room median %v max %v (%d); other room median %v max %v (%d); notified median %v max %v",
		median(lf).Round(time.Millisecond), lf[len(lf)-1].Round(time.Millisecond), len(lf),
		median(lq).Round(time.Millisecond), lq[len(lq)-1].Round(time.Millisecond), len(lq),
		median(notified).Round(time.Millisecond), notified[len(notified)-1].Round(time.Millisecond))
	t.Logf("Asha's daemon: before %s, peak %s, after %s", before, pk, after)
}

// Anyone on the broker flooding a room's topics with garbage (a plain
// MQTT client, QoS 0, as fast as it can: random payloads, payloads of
// the right version and size, 1 MiB blobs, and forged Wills on a
// member's presence topic) costs the members CPU, not their messages'
// delivery, their presence or unbounded memory: the garbage is counted
// as rejected or dropped, and a member answers a flood of forged Wills
// with one announcement at a time.
func TestGarbageFlood(t *testing.T) {
	b := floodBackend(t)
	ds := b.daemons(t, "Asha", "Bilal")
	asha, bilal := ds[0], ds[1]
	logsOnFailure(t, ds...)
	inv := create(t, asha)
	must(t, bilal, "join", inv.Room, "--password", inv.Password)
	waitPresent(t, 20*time.Second, inv.Room, 2, asha, bilal)
	topic := roomTopic(t, asha, inv.Room)
	bilalPresence := presenceTopic(t, bilal, inv.Room)
	before := map[*testenv.Daemon]footprint{asha: footprintOf(t, asha.PID()), bilal: footprintOf(t, bilal.PID())}

	// An eavesdropper counts Bilal's announcements.
	wire := newMQTTWire(t, b.mosquitto)
	eavesdrop := wire.capture(bilalPresence)

	cl := paho.NewClient(paho.NewClientOptions().AddBroker(b.mosquitto.URL()).SetClientID("mallory-flood").
		SetCleanSession(true).SetAutoReconnect(false))
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect the flooding client: %v", tok.Error())
	}
	defer cl.Disconnect(100)

	seen := watchHistory(t, asha, inv.Room)
	stop := make(chan struct{})
	peaks := map[*testenv.Daemon]<-chan footprint{asha: memoryPeak(t, asha.PID(), stop), bilal: memoryPeak(t, bilal.PID(), stop)}
	var published, forgedWills atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		random := make([]byte, 2048)
		framed := make([]byte, 16*1024-1) // version 1, the largest size that is opened
		framed[0] = 1
		blob := make([]byte, 1<<20)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			var tok paho.Token
			switch {
			case i%500 == 499:
				tok = cl.Publish(topic, 0, false, blob)
			case i%4 == 3:
				tok = cl.Publish(bilalPresence, 0, true, []byte{})
				forgedWills.Add(1)
			case i%2 == 1:
				rand.Read(framed[1:25])
				tok = cl.Publish(topic, 0, false, framed)
			default:
				rand.Read(random)
				tok = cl.Publish(topic, 0, false, random)
			}
			// QoS 0 needs no acknowledgement, but paho's outbound queue
			// must not grow in the test process either.
			if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Errorf("the flooding client could not publish (after %d): %v; connected: %v", published.Load(), tok.Error(), cl.IsConnected())
				return
			}
			published.Add(1)
		}
	}()
	start := time.Now()
	time.AfterFunc(floodFor, func() { close(stop) })
	sent := paced(t, bilal, 400*time.Millisecond, stop, inv.Room)
	<-done
	rate := float64(published.Load()) / time.Since(start).Seconds()

	lat, lost := latencies(t, "Bilal's messages during the garbage flood", sent, seen)
	// After the flood Bilal is present, for Asha and for the broker's
	// retained state (a forged Will may have been the last word).
	waitPresent(t, 20*time.Second, inv.Room, 2, asha, bilal)
	if got := texts(history(t, asha, inv.Room)); len(got) != len(sent)-len(lost) {
		t.Errorf("Asha's history holds %d messages, want Bilal's %d (%d lost)", len(got), len(sent)-len(lost), len(lost))
	}
	eavesdrop.mu.Lock()
	var announcements int
	for _, p := range eavesdrop.seen[bilalPresence] {
		if len(p) > 0 {
			announcements++
		}
	}
	eavesdrop.mu.Unlock()
	if int64(announcements) > forgedWills.Load()+2 {
		t.Errorf("Bilal announced himself %d times for %d forged Wills", announcements, forgedWills.Load())
	}
	r, _ := findRoom(roomsJSON(t, asha), inv.Room)
	accounted(t, "Bilal's messages during the garbage flood", lost, r.Dropped)
	// Counted once each at most: the garbage, Bilal's messages and
	// announcements are all that came.
	if came := uint64(published.Load()) + uint64(len(sent)+announcements); r.Rejected == 0 || r.Rejected+r.Dropped > came {
		t.Errorf("Asha counted %d rejected and %d dropped of %d payloads", r.Rejected, r.Dropped, came)
	}
	for _, d := range ds {
		pk := <-peaks[d]
		after := checkFootprint(t, "daemon", d.PID(), before[d], 64, 4)
		if pk.rssKiB > before[d].rssKiB+128<<10 {
			t.Errorf("a daemon peaked at %s during the flood, from %s", pk, before[d])
		}
		t.Logf("%s: before %s, peak %s, after %s", d.StateDir, before[d], pk, after)
	}
	t.Logf("garbage: %d payloads in %v (%.0f/s), %d of them forged Wills; Asha: %d rejected, %d dropped; Bilal announced himself %d times",
		published.Load(), floodFor, rate, forgedWills.Load(), r.Rejected, r.Dropped, announcements)
	t.Logf("Bilal's messages reached Asha after: median %v, max %v (%d messages)",
		median(lat).Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond), len(lat))
}
