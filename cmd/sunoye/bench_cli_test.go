package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
)

// BenchmarkCLI is a message sent from a shell script: `sunoye send ROOM
// TEXT` (a new process that asks the daemon over its socket) until
// `sunoye tail ROOM --json`, following the room on the other daemon,
// prints it; beside the same with mosquitto's own tools, `mosquitto_pub`
// until `mosquitto_sub` prints it, over the same broker, alternating.
// Both include starting a process per message, which is most of it.
//
//	go test ./cmd/sunoye -run '^$' -bench CLI -benchtime 200x -count 5
func BenchmarkCLI(b *testing.B) {
	pub := testenv.NeedBinary(b, "mosquitto_pub", "mosquitto-clients")
	sub := testenv.NeedBinary(b, "mosquitto_sub", "mosquitto-clients")
	m := testenv.StartMosquitto(b)
	dsn := testenv.MariaDB(b)
	asha := testenv.StartDaemon(b, testenv.DaemonConfig{Broker: m.URL(), DB: dsn, Name: "Asha"})
	bilal := testenv.StartDaemon(b, testenv.DaemonConfig{Broker: m.URL(), DB: dsn, Name: "Bilal"})
	inv, err := asha.Client().Create(b.Context(), "")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := bilal.Client().Join(b.Context(), inv.Room, inv.Password); err != nil {
		b.Fatal(err)
	}
	host, port, _ := strings.Cut(m.Addr(), ":")
	topic := "sunoye/room/" + inv.Room

	sunoyeLines := follow(b, exec.Command(testenv.Sunoye(b), "--state-dir", bilal.StateDir, "tail", inv.Room, "--json"))
	mosqLines := follow(b, exec.Command(sub, "-h", host, "-p", port, "-q", "1", "-t", topic))
	// mosquitto_sub has subscribed once a message published now comes out.
	mosqPub := func(text string) *exec.Cmd {
		return exec.Command(pub, "-h", host, "-p", port, "-q", "1", "-t", topic, "-m", "Asha->>"+text)
	}
	sunoyeSend := func(text string) *exec.Cmd {
		cmd := exec.Command(testenv.Sunoye(b), "--state-dir", asha.StateDir, "send", inv.Room, text)
		cmd.Env = append(os.Environ(), "SUNOYE_CONFIG=/nonexistent")
		return cmd
	}
	type side struct {
		name  string
		send  func(text string) *exec.Cmd
		lines <-chan string
		lat   []time.Duration
	}
	sides := []*side{{name: "mosquitto-cli", send: mosqPub, lines: mosqLines}, {name: "sunoye-cli", send: sunoyeSend, lines: sunoyeLines}}
	// send sends text and returns how long it took to be printed, or
	// false if it was not within wait.
	send := func(b *testing.B, s *side, text string, wait time.Duration) (time.Duration, bool) {
		start := time.Now()
		if out, err := s.send(text).CombinedOutput(); err != nil {
			b.Fatalf("%s: %v\n%s", s.name, err, out)
		}
		deadline := time.After(wait)
		for {
			select {
			case line := <-s.lines:
				// mosquitto_sub prints the payload; tail, JSON.
				if line == "Asha->>"+text || strings.Contains(line, `"text":"`+text+`"`) {
					return time.Since(start), true
				}
			case <-deadline:
				return 0, false
			}
		}
	}
	once := func(b *testing.B, s *side, text string) time.Duration {
		d, ok := send(b, s, text, 30*time.Second)
		if !ok {
			b.Fatalf("%s: %q was not printed within 30 s", s.name, text)
		}
		return d
	}
	// Warm-up, until both listeners print what is sent: mosquitto_sub's
	// session is clean, so what is sent before it subscribed is lost.
	for _, s := range sides {
		for i := 0; ; i++ {
			if _, ok := send(b, s, fmt.Sprintf("warm-up %d", i), time.Second); ok {
				break
			}
			if i == 30 {
				b.Fatalf("%s prints nothing of what is sent", s.name)
			}
		}
	}
	n := 0
	for b.Loop() {
		for k := range sides {
			s := sides[(n+k)%len(sides)]
			s.lat = append(s.lat, once(b, s, fmt.Sprintf("message %d", n)))
		}
		n++
	}
	b.StopTimer()
	for _, s := range sides {
		report(b, s.name, s.lat)
	}
	b.ReportMetric(ratio(percentile(sides[1].lat, 50), percentile(sides[0].lat, 50)), "sunoye/mosquitto-p50")
}

// follow starts cmd, a program that prints lines as messages arrive, and
// returns its lines. The program is killed when the benchmark ends.
func follow(b *testing.B, cmd *exec.Cmd) <-chan string {
	b.Helper()
	if cmd.Env == nil {
		cmd.Env = append(os.Environ(), "SUNOYE_CONFIG=/nonexistent")
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return lines
}
