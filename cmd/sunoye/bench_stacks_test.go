package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/sunoye/sunoye/internal/roomstest"
	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
	"github.com/sunoye/sunoye/web"
)

// The stack benchmarks send a short chat message from one user to another
// in every way there is to compare, over one mosquitto in one run:
//
//   - paho-q1: raw Paho (Go), QoS 1, a payload of a SunOye message's size:
//     what MQTT itself costs;
//   - paho-wire: the same carrying SunOye's sealed payload, opened on
//     receipt: MQTT and the wire format, nothing else (Latency/core);
//   - py-q0, py-q1: the original project's stack, Python paho-mqtt
//     (Debian's python3-paho-mqtt) publishing "name->>text" in plain text to
//     sunoye/room/N, at QoS 0 as it did and at QoS 1 (testdata/original_stack.py,
//     which times itself);
//   - sunoye: SunOye's core, Service.Send in one daemon to the other
//     daemon's Service having decrypted, verified, de-duplicated and stored
//     it and woken its event subscriber, as the local API's message stream
//     is woken (what the daemon does, in process);
//   - sunoye-rx: that receiver alone, from a sender whose payloads are
//     sealed before the burst and published by raw Paho (Throughput);
//   - daemon: two real daemons, the message sent through Asha's local API
//     (what `sunoye send` and the chat window do) and received on Bilal's
//     message stream (what `sunoye tail` and the window read).
//
//	go test ./cmd/sunoye -run '^$' -bench Latency -benchtime 1000x -count 5
//	go test ./cmd/sunoye -run '^$' -bench Throughput -benchtime 10x -count 5

// stackText is the chat message every stack sends.
const stackText = "a short chat message of about the usual length, nothing more"

// stack is one way of getting a message from one user to another.
type stack struct {
	name string
	// once sends one message and returns the time from the send to its
	// receipt.
	once func(b *testing.B) time.Duration
	// burst sends n messages as fast as the stack lets its user, and
	// returns the time from the first send to the last receipt.
	burst func(b *testing.B, n int) time.Duration
}

// receipts stamps messages as they arrive, on the receiver's goroutine.
type receipts chan time.Time

func newReceipts() receipts { return make(receipts, 1<<16) }

// next waits for the next receipt.
func (r receipts) next(b *testing.B) time.Time {
	b.Helper()
	select {
	case t := <-r:
		return t
	case <-time.After(30 * time.Second):
		b.Fatal("a message did not arrive within 30 s")
	}
	return time.Time{}
}

// last waits for n receipts and returns the time of the last.
func (r receipts) last(b *testing.B, n int) time.Time {
	b.Helper()
	var t time.Time
	for range n {
		t = r.next(b)
	}
	return t
}

// pahoStack is raw Paho (Go): a publisher and a subscriber of one topic.
// Its payload is the size of a SunOye payload of stackText, so that the
// broker and the network carry the same bytes.
func pahoStack(b *testing.B, broker string, qos byte) stack {
	return rawStack(b, broker, qos, nil)
}

// wireStack is raw Paho at QoS 1 carrying SunOye's wire format: each
// message sealed as Service.Send seals it (JSON, Ed25519, XChaCha20-
// Poly1305) before the publish, and opened as a receiver opens it on
// receipt, before it counts as received: MQTT plus the wire format, and
// nothing else of SunOye's receive path (no marks, no history, no events).
func wireStack(b *testing.B, broker string) stack {
	b.Helper()
	raw := make([]byte, 32)
	rand.Read(raw)
	key, err := rooms.KeyFromBytes(raw)
	if err != nil {
		b.Fatal(err)
	}
	return rawStack(b, broker, 1, rooms.NewForger(key, rooms.NewIdentity(), "Asha"))
}

// rawStack is pahoStack, or wireStack with wire.
func rawStack(b *testing.B, broker string, qos byte, wire *rooms.Forger) stack {
	b.Helper()
	topic := "bench/raw/" + randHex()
	got := newReceipts()
	connect := func(id string, onConnect mqtt.OnConnectHandler) mqtt.Client {
		o := mqtt.NewClientOptions().AddBroker(broker).SetClientID(id).SetOnConnectHandler(onConnect).
			SetMaxReconnectInterval(time.Second)
		c := mqtt.NewClient(o)
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			b.Fatalf("paho connect: %v", tok.Error())
		}
		b.Cleanup(func() { c.Disconnect(100) })
		return c
	}
	subscribed := make(chan error, 1)
	connect("bench-raw-sub-"+randHex(), func(c mqtt.Client) {
		tok := c.Subscribe(topic, qos, func(_ mqtt.Client, m mqtt.Message) {
			if wire != nil {
				if _, _, err := wire.Open(m.Payload()); err != nil {
					panic(fmt.Sprintf("open a sealed payload: %v", err)) // not on the benchmark's goroutine
				}
			}
			got <- time.Now()
		})
		tok.Wait()
		subscribed <- tok.Error()
	})
	if err := <-subscribed; err != nil {
		b.Fatalf("paho subscribe: %v", err)
	}
	pub := connect("bench-raw-pub-"+randHex(), nil)
	payload := make([]byte, sunoyePayloadSize(b))
	wait := func(tok mqtt.Token) {
		if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
			b.Fatalf("paho publish: %v", tok.Error())
		}
	}
	name := fmt.Sprintf("paho-q%d", qos)
	if wire != nil {
		name = "paho-wire"
	}
	return stack{
		name: name,
		once: func(b *testing.B) time.Duration {
			start := time.Now()
			p := payload
			if wire != nil {
				var err error
				if p, err = wire.Message(stackText); err != nil {
					b.Fatal(err)
				}
			}
			tok := pub.Publish(topic, qos, false, p)
			d := got.next(b).Sub(start)
			wait(tok)
			return d
		},
		burst: func(b *testing.B, n int) time.Duration {
			toks := make([]mqtt.Token, n)
			start := time.Now()
			for i := range toks {
				toks[i] = pub.Publish(topic, qos, false, payload)
			}
			d := got.last(b, n).Sub(start)
			for _, tok := range toks {
				wait(tok)
			}
			return d
		},
	}
}

// sunoyePayloadSize is the size of the payload SunOye publishes for
// stackText: version, nonce, AEAD tag, key, signature and the JSON body.
func sunoyePayloadSize(b *testing.B) int {
	b.Helper()
	const overhead = 1 + 24 + 16 + 32 + 64
	body, err := json.Marshal(map[string]any{
		"type": "msg", "id": randHex() + randHex() + randHex()[:8], "name": "Asha", "ts": time.Now().UnixMilli(), "text": stackText,
	})
	if err != nil {
		b.Fatal(err)
	}
	return overhead + len(body)
}

// pythonStack is the original project's stack, run by
// testdata/original_stack.py, which reports its own timings.
func pythonStack(b *testing.B, m *testenv.Mosquitto, qos int) stack {
	b.Helper()
	py := testenv.PythonWith(b, "paho.mqtt", "python3-paho-mqtt")
	script, err := filepath.Abs(filepath.Join("testdata", "original_stack.py"))
	if err != nil {
		b.Fatal(err)
	}
	host, port, _ := strings.Cut(m.Addr(), ":")
	cmd := exec.Command(py, script, "--host", host, "--port", port, "--room", string(rooms.NewID()), "--qos", fmt.Sprint(qos))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatalf("start %s: %v", script, err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	b.Cleanup(func() {
		io.WriteString(stdin, "quit\n")
		stdin.Close()
		// Read to the end (it ends when the script exits), then Wait,
		// which closes the pipe: never both at once.
		kill := time.AfterFunc(10*time.Second, func() { cmd.Process.Kill() })
		for range lines {
		}
		kill.Stop()
		cmd.Wait()
	})
	// ask sends a command and decodes the answer into out.
	ask := func(b *testing.B, command string, out any) {
		b.Helper()
		if command != "" {
			if _, err := io.WriteString(stdin, command+"\n"); err != nil {
				b.Fatalf("original_stack.py: %v\n%s", err, stderr.String())
			}
		}
		select {
		case line, ok := <-lines:
			if !ok {
				b.Fatalf("original_stack.py ended: %s", stderr.String())
			}
			if err := json.Unmarshal([]byte(line), out); err != nil {
				b.Fatalf("original_stack.py printed %q: %v", line, err)
			}
		case <-time.After(60 * time.Second):
			b.Fatalf("original_stack.py did not answer %q within 60 s\n%s", command, stderr.String())
		}
	}
	var ready struct {
		Ready bool   `json:"ready"`
		Paho  string `json:"paho"`
	}
	ask(b, "", &ready)
	b.Logf("original stack: %s, paho-mqtt %s, QoS %d", py, ready.Paho, qos)
	return stack{
		name: fmt.Sprintf("py-q%d", qos),
		once: func(b *testing.B) time.Duration {
			var r struct{ US float64 }
			ask(b, "lat", &r)
			return time.Duration(r.US * float64(time.Microsecond))
		},
		burst: func(b *testing.B, n int) time.Duration {
			var r struct {
				Secs     float64
				Received int
			}
			ask(b, fmt.Sprintf("burst %d", n), &r)
			return time.Duration(r.Secs * float64(time.Second))
		},
	}
}

// burstSends makes n calls of send on inFlight goroutines at once (all n
// at once if inFlight is 0), and waits for them.
//
// Send returns once the broker has acknowledged the message (QoS 1), so
// one caller's messages go one round trip after the other; but nothing
// bounds how many calls a user's windows and scripts make at once
// (neither Service.Send nor the local API does), and Paho and Python keep
// every message of a burst in flight too. The stack benchmarks therefore
// make all of a burst's sends at once: every stack has the whole burst in
// flight, and the rate is what the receiver gets through.
func burstSends(b *testing.B, n, inFlight int, send func() error) {
	b.Helper()
	if inFlight <= 0 || inFlight > n {
		inFlight = n
	}
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
		next     = make(chan struct{}, n)
	)
	for range n {
		next <- struct{}{}
	}
	close(next)
	for range inFlight {
		wg.Go(func() {
			for range next {
				if err := send(); err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
}

// sunoyeStack is SunOye's core: two Services wired as the daemon wires
// them, Asha sending and Bilal receiving.
func sunoyeStack(b *testing.B, broker, dsn string) stack {
	b.Helper()
	asha, bilal := benchService(b, broker, dsn, "Asha"), benchService(b, broker, dsn, "Bilal")
	inv, err := asha.Create(b.Context(), "")
	if err != nil {
		b.Fatal(err)
	}
	if err := bilal.Join(b.Context(), inv.Room, inv.Password); err != nil {
		b.Fatal(err)
	}
	got := messageReceipts(b, bilal, inv.Room)
	send := func() error {
		_, err := asha.Send(context.Background(), inv.Room, stackText)
		return err
	}
	return sendStack("sunoye", send, got)
}

// keyStore keeps the last state a Service saved: its rooms and their keys.
type keyStore struct {
	mu    sync.Mutex
	rooms []rooms.SavedRoom
}

func (k *keyStore) SaveRooms(rs []rooms.SavedRoom) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.rooms = rs
	return nil
}

func (k *keyStore) key(b *testing.B, id rooms.ID) rooms.Key {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, sr := range k.rooms {
		if sr.ID == id {
			key, err := rooms.KeyFromBytes(sr.Key)
			if err != nil {
				b.Fatal(err)
			}
			return key
		}
	}
	b.Fatalf("room %s not in the saved state", id)
	return rooms.Key{}
}

// sunoyeRxStack is SunOye's receiver alone: Bilal's Service as in
// sunoyeStack, and a member of the room whose messages are sealed before
// the burst begins (rooms.Forger, byte for byte what Service.Send seals)
// and published asynchronously by raw Paho at QoS 1, as the Python
// stack's sender publishes. It answers how many messages per second a
// receiver decrypts, verifies, records and shows from one sender, when
// the sender's sealing runs elsewhere (on the sender's machine), not on
// the receiver's cores.
func sunoyeRxStack(b *testing.B, broker, dsn string) stack {
	b.Helper()
	ks := new(keyStore)
	asha := roomstest.NewService(b, roomstest.Config{Name: "Asha", Broker: broker, DB: dsn, Store: ks})
	bilal := benchService(b, broker, dsn, "Bilal")
	inv, err := asha.Create(b.Context(), "")
	if err != nil {
		b.Fatal(err)
	}
	if err := bilal.Join(b.Context(), inv.Room, inv.Password); err != nil {
		b.Fatal(err)
	}
	forger := rooms.NewForger(ks.key(b, inv.Room), rooms.NewIdentity(), "Chen")
	got := messageReceipts(b, bilal, inv.Room)
	o := mqtt.NewClientOptions().AddBroker(broker).SetClientID("bench-rx-pub-" + randHex())
	pub := mqtt.NewClient(o)
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("paho connect: %v", tok.Error())
	}
	b.Cleanup(func() { pub.Disconnect(100) })
	seal := func(b *testing.B) []byte {
		p, err := forger.Message(stackText)
		if err != nil {
			b.Fatal(err)
		}
		return p
	}
	wait := func(tok mqtt.Token) {
		if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
			b.Fatalf("paho publish: %v", tok.Error())
		}
	}
	return stack{
		name: "sunoye-rx",
		once: func(b *testing.B) time.Duration {
			start := time.Now()
			tok := pub.Publish(forger.Topic(), 1, false, seal(b))
			d := got.next(b).Sub(start)
			wait(tok)
			return d
		},
		burst: func(b *testing.B, n int) time.Duration {
			payloads := make([][]byte, n)
			for i := range payloads {
				payloads[i] = seal(b)
			}
			toks := make([]mqtt.Token, n)
			start := time.Now()
			for i, p := range payloads {
				toks[i] = pub.Publish(forger.Topic(), 1, false, p)
			}
			d := got.last(b, n).Sub(start)
			for _, tok := range toks {
				wait(tok)
			}
			return d
		},
	}
}

// messageReceipts stamps the messages of others that svc shows in room,
// as its event subscriber (the local API's stream) is woken.
func messageReceipts(b *testing.B, svc *rooms.Service, room rooms.ID) receipts {
	got := newReceipts()
	events, cancel := svc.Subscribe(1 << 16)
	b.Cleanup(cancel)
	go func() {
		for e := range events {
			if e.Kind == rooms.EventMessage && e.Room == room && !e.Message.Own {
				got <- time.Now()
			}
		}
	}()
	return got
}

// daemonStack is two real daemons: sent through Asha's local API, received
// on Bilal's message stream.
func daemonStack(b *testing.B, broker, dsn string) stack {
	b.Helper()
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
	got := newReceipts()
	fctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	go bilal.Client().Follow(fctx, inv.Room, func(m web.MessageJSON) error {
		got <- time.Now()
		return nil
	})
	client := asha.Client()
	send := func() error {
		_, err := client.Send(context.Background(), inv.Room, stackText)
		return err
	}
	// The stream is open once a message sent now comes out of it.
	if err := send(); err != nil {
		b.Fatal(err)
	}
	got.next(b)
	return sendStack("daemon", send, got)
}

// sendStack is a stack whose messages go out by send and whose receipts
// arrive on got.
func sendStack(name string, send func() error, got receipts) stack {
	return stack{
		name: name,
		once: func(b *testing.B) time.Duration {
			start := time.Now()
			if err := send(); err != nil {
				b.Fatal(err)
			}
			return got.next(b).Sub(start)
		},
		burst: func(b *testing.B, n int) time.Duration {
			start := time.Now()
			burstSends(b, n, 0, send)
			return got.last(b, n).Sub(start)
		},
	}
}

// allStacks starts every stack over one mosquitto and MariaDB.
func allStacks(b *testing.B) []stack {
	b.Helper()
	m := testenv.StartMosquitto(b)
	dsn := testenv.MariaDB(b)
	return []stack{
		pahoStack(b, m.URL(), 1),
		pythonStack(b, m, 0),
		pythonStack(b, m, 1),
		sunoyeStack(b, m.URL(), dsn),
		daemonStack(b, m.URL(), dsn),
	}
}

// BenchmarkLatency is the time from sending a message to its receipt, one
// message at a time, each iteration sending one message on each stack,
// starting with a different one every time so that the machine's noise
// hits them alike. It reports p50 and p99 per stack and the ratios of
// SunOye's to the others'; ns/op covers one message on every stack.
//
//   - core: SunOye's core beside raw Paho, nothing else running: the
//     comparison that issue 2's target (SunOye within 1.5× of raw MQTT at
//     p50) is about; and beside paho-wire, whose difference from SunOye
//     (sunoye-over-wire-p50-µs) is what SunOye's receive path adds to
//     MQTT and Seal + Open (issue 11). All run hot: the next message
//     follows at once.
//   - stacks: every stack, the Python ones and the daemons included. The
//     other stacks' processes run between two messages of one stack, so
//     each message finds its threads asleep, as a chat message does.
func BenchmarkLatency(b *testing.B) {
	b.Run("core", func(b *testing.B) {
		m := testenv.StartMosquitto(b)
		latencyLoop(b, []stack{pahoStack(b, m.URL(), 1), wireStack(b, m.URL()), sunoyeStack(b, m.URL(), testenv.MariaDB(b))})
	})
	b.Run("stacks", func(b *testing.B) {
		latencyLoop(b, allStacks(b))
	})
}

// latencyLoop runs BenchmarkLatency's loop over stacks and reports.
func latencyLoop(b *testing.B, stacks []stack) {
	lat := make([][]time.Duration, len(stacks))
	for _, s := range stacks { // warm-up: connections, caches
		for range 20 {
			s.once(b)
		}
	}
	n := 0
	for b.Loop() {
		for k := range stacks {
			i := (n + k) % len(stacks)
			lat[i] = append(lat[i], stacks[i].once(b))
		}
		n++
	}
	b.StopTimer()
	byName := make(map[string][]time.Duration)
	for i, s := range stacks {
		report(b, s.name, lat[i])
		byName[s.name] = lat[i]
	}
	for _, base := range []string{"paho-q1", "py-q0", "py-q1"} {
		if byName[base] == nil {
			continue
		}
		for _, p := range []int{50, 99} {
			b.ReportMetric(ratio(percentile(byName["sunoye"], p), percentile(byName[base], p)), fmt.Sprintf("sunoye/%s-p%d", base, p))
		}
	}
	if w := byName["paho-wire"]; w != nil {
		// What SunOye's path adds beyond MQTT and the wire format.
		b.ReportMetric(float64((percentile(byName["sunoye"], 50) - percentile(w, 50)).Microseconds()), "sunoye-over-wire-p50-µs")
	}
	if byName["daemon"] != nil {
		b.ReportMetric(ratio(percentile(byName["daemon"], 50), percentile(byName["sunoye"], 50)), "daemon/sunoye-p50")
	}
}

// burstLen is the number of messages in one burst: large enough to
// measure a rate, small enough for mosquitto's default queue of 1000
// messages per client.
const burstLen = 500

// BenchmarkThroughput is how many messages per second one user gets to
// another in bursts of burstLen, on every stack, every message of a burst
// in flight at once (Paho and Python publish asynchronously; SunOye's
// Send waits for the broker's acknowledgement, and is called burstLen
// times at once, see burstSends). Each iteration is one burst on each
// stack, in rotating order. It reports messages per second per stack and
// SunOye's rate as a fraction of the others'.
func BenchmarkThroughput(b *testing.B) {
	stacks := allStacks(b)
	m := testenv.StartMosquitto(b)
	stacks = append(stacks, sunoyeRxStack(b, m.URL(), testenv.MariaDB(b)))
	// In its first 3 s a room's session sends every message alone: the
	// presences the broker keeps may still bring a member whose SunOye
	// does not open batches (rooms/batch.go). A conversation is measured
	// after them.
	time.Sleep(3500 * time.Millisecond)
	total := make([]time.Duration, len(stacks))
	for _, s := range stacks {
		s.burst(b, 50) // warm-up
	}
	n := 0
	for b.Loop() {
		for k := range stacks {
			i := (n + k) % len(stacks)
			total[i] += stacks[i].burst(b, burstLen)
		}
		n++
	}
	b.StopTimer()
	rate := make(map[string]float64)
	for i, s := range stacks {
		rate[s.name] = float64(n*burstLen) / total[i].Seconds()
		b.ReportMetric(rate[s.name], s.name+"-msg/s")
	}
	for _, base := range []string{"paho-q1", "py-q0", "py-q1"} {
		b.ReportMetric(rate["sunoye"]/rate[base], "sunoye/"+base+"-rate")
	}
	b.ReportMetric(rate["sunoye-rx"]/rate["py-q1"], "sunoye-rx/py-q1-rate")
	b.ReportMetric(rate["daemon"]/rate["sunoye"], "daemon/sunoye-rate")
}

// ratio is a/b, for durations.
func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return a.Seconds() / b.Seconds()
}
