package main

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/web"
)

// Helpers of the fault tests (faults_test.go) and the soak (soak_test.go).

// durableBackend is a mosquitto set up as the README recommends
// (persistence, unbounded queues) and a database on the shared MariaDB.
func durableBackend(t *testing.T) backend {
	m := testenv.StartMosquittoPersistent(t)
	return backend{name: "mosquitto(persistent)+mariadb", first: m.URL(), others: m.URL(), db: testenv.MariaDB(t), mosquitto: m}
}

// startDaemonsWith starts one daemon per name on broker and db, with
// `sunoye up` arguments args.
func startDaemonsWith(t *testing.T, broker, db string, args []string, names ...string) []*testenv.Daemon {
	t.Helper()
	var ds []*testenv.Daemon
	for _, n := range names {
		ds = append(ds, testenv.StartDaemon(t, testenv.DaemonConfig{Broker: broker, DB: db, Name: n, Args: args}))
	}
	return ds
}

// gather makes ds[0] create a room, the others join it, and waits until
// every one of them sees all of them present.
func gather(t *testing.T, ds ...*testenv.Daemon) web.InviteJSON {
	t.Helper()
	inv := create(t, ds[0])
	for _, d := range ds[1:] {
		must(t, d, "join", inv.Room, "--password", inv.Password)
	}
	waitMembers(t, 20*time.Second, inv.Room, len(ds), ds...)
	return inv
}

// waitMembers waits until every daemon in ds shows n members present in
// room, and connected.
func waitMembers(t *testing.T, within time.Duration, room string, n int, ds ...*testenv.Daemon) {
	t.Helper()
	eventually(t, within, func() error {
		for _, d := range ds {
			r, err := roomInfo(t.Context(), d, room)
			if err != nil {
				return err
			}
			if r.Members != n || !r.Connected {
				return fmt.Errorf("daemon %s sees %d members (connected %v), want %d", d.StateDir, r.Members, r.Connected, n)
			}
		}
		return nil
	})
}

// roomInfo reads one room of a daemon through its API. Unlike roomsJSON it
// returns errors, for use inside eventually and in goroutines.
func roomInfo(ctx context.Context, d *testenv.Daemon, room string) (web.RoomJSON, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	r, err := d.Client().Room(ctx, room)
	if err != nil {
		return r, fmt.Errorf("room %s of %s: %w", room, d.StateDir, err)
	}
	return r, nil
}

// waitConnected waits until every daemon in ds is connected to the broker
// in room (want true) or has noticed it is not (want false), and returns
// how long that took for the slowest.
func waitConnected(t *testing.T, within time.Duration, room string, want bool, ds ...*testenv.Daemon) time.Duration {
	t.Helper()
	start := time.Now()
	eventually(t, within, func() error {
		for _, d := range ds {
			r, err := roomInfo(t.Context(), d, room)
			if err != nil {
				return err
			}
			if r.Connected != want {
				return fmt.Errorf("daemon %s: connected = %v, want %v", d.StateDir, r.Connected, want)
			}
		}
		return nil
	})
	return time.Since(start)
}

// sendTimeout is how long one send may wait for the broker's
// acknowledgement: longer than any outage in these tests, so that a send
// made while the broker is away waits for it rather than failing.
const sendTimeout = 2 * time.Minute

// sender sends numbered messages ("NAME #0001", "NAME #0002", …) to a
// room, one at a time: each send waits for the broker's acknowledgement
// before the next starts, as a script calling `sunoye send` in a loop does.
type sender struct {
	name string
	done chan struct{} // closed when the loop has ended

	mu     sync.Mutex
	sent   int           // sends made, failed ones included
	failed map[int]error // the sends that returned an error
}

// startSender starts sending from d to room every pace (0: as fast as the
// sends are acknowledged) until n messages are sent (n ≤ 0: no limit) or
// stop (which may be nil) is closed. The messages are named after name.
// When the test ends,
// the loop is stopped and a send under way abandoned.
//
// A send that fails is recorded, and the loop goes on: the test then
// reports the failure, and also whether the message was delivered anyway.
func startSender(t *testing.T, d *testenv.Daemon, room, name string, n int, pace time.Duration, stop <-chan struct{}) *sender {
	t.Helper()
	s := &sender{name: name, done: make(chan struct{}), failed: make(map[int]error)}
	ctx, cancel := context.WithCancel(context.Background())
	c := d.Client()
	go func() {
		defer close(s.done)
		tick := time.NewTicker(max(pace, time.Millisecond))
		defer tick.Stop()
		for i := 1; n <= 0 || i <= n; i++ {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			default:
			}
			sctx, scancel := context.WithTimeout(ctx, sendTimeout)
			_, err := c.Send(sctx, room, seqText(name, i))
			scancel()
			s.mu.Lock()
			s.sent = i
			if err != nil {
				s.failed[i] = err
			}
			s.mu.Unlock()
			if pace > 0 {
				select {
				case <-stop:
					return
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	return s
}

// sendAsync sends text from d to room in the background, waiting up to
// sendTimeout for the broker's acknowledgement, and reports the outcome on
// the returned channel.
func sendAsync(d *testenv.Daemon, room, text string) <-chan error {
	ch := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
		defer cancel()
		_, err := d.Client().Send(ctx, room, text)
		if err != nil {
			err = fmt.Errorf("send %q: %w", text, err)
		}
		ch <- err
	}()
	return ch
}

// waitSends waits for sends started by sendAsync and fails the test for
// each that failed.
func waitSends(t *testing.T, sends ...<-chan error) {
	t.Helper()
	for _, ch := range sends {
		select {
		case err := <-ch:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(sendTimeout + 30*time.Second):
			t.Fatal("a send did not return")
		}
	}
}

// Sent returns the number of sends made so far.
func (s *sender) Sent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent
}

// wait waits for the loop to end and returns how many messages it sent. A
// send that failed fails the test: the user was told so.
func (s *sender) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(sendTimeout + 30*time.Second):
		t.Fatalf("%s's sends did not end", s.name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, i := range slices.Sorted(maps.Keys(s.failed)) {
		t.Errorf("%s's send #%d failed: %v", s.name, i, s.failed[i])
	}
	return s.sent
}

// failures returns the numbers of the sends that failed.
func (s *sender) failures() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.failed))
}

// waitSent waits until every sender has made at least n sends.
func waitSent(t *testing.T, within time.Duration, n int, ss ...*sender) {
	t.Helper()
	eventually(t, within, func() error {
		for _, s := range ss {
			if sent := s.Sent(); sent < n {
				return fmt.Errorf("%s has sent %d messages, want %d", s.name, sent, n)
			}
		}
		return nil
	})
}

// seqText is the text of message i from name.
func seqText(name string, i int) string { return fmt.Sprintf("%s #%04d", name, i) }

// parseSeq reads a text written by seqText.
func parseSeq(text string) (name string, i int, ok bool) {
	name, num, ok := strings.Cut(text, " #")
	if !ok {
		return "", 0, false
	}
	i, err := strconv.Atoi(num)
	return name, i, err == nil
}

// tally counts the messages one member was shown, to check them against
// what was sent: every message exactly once, each sender's in the order
// sent.
type tally struct {
	ids   map[string]int   // message id → times shown
	seqs  map[string][]int // sender name → sequence numbers, in the order shown
	other []string         // texts that are not numbered messages
}

func newTally() *tally {
	return &tally{ids: make(map[string]int), seqs: make(map[string][]int)}
}

// add records one shown message.
func (tl *tally) add(m web.MessageJSON) {
	tl.ids[m.ID]++
	if name, i, ok := parseSeq(m.Text); ok {
		tl.seqs[name] = append(tl.seqs[name], i)
		return
	}
	tl.other = append(tl.other, m.Text)
}

// tallyOf counts a list of messages, such as a history.
func tallyOf(ms []web.MessageJSON) *tally {
	tl := newTally()
	for _, m := range ms {
		tl.add(m)
	}
	return tl
}

// total is the number of messages shown, duplicates included.
func (tl *tally) total() int {
	n := 0
	for _, c := range tl.ids {
		n += c
	}
	return n
}

// check compares the tally with what was sent (sender name → messages
// sent, numbered from 1) and extra (texts sent without a number, in any
// order). It reports what is missing, shown twice, out of order or
// unexpected.
func (tl *tally) check(sent map[string]int, extra []string) error {
	want := make(map[string][]int, len(sent))
	for name, n := range sent {
		want[name] = make([]int, n)
		for k := range n {
			want[name][k] = k + 1
		}
	}
	return tl.checkSeqs(want, extra)
}

// checkSeqs is check for senders whose numbers have gaps: want holds,
// for each sender, the numbers of the messages that went out, in the
// order sent.
func (tl *tally) checkSeqs(want map[string][]int, extra []string) error {
	var problems []string
	for id, n := range tl.ids {
		if n > 1 {
			problems = append(problems, fmt.Sprintf("message %s shown %d times", id, n))
		}
	}
	for name, ws := range want {
		seqs := tl.seqs[name]
		if len(seqs) != len(ws) {
			problems = append(problems, fmt.Sprintf("%s: %d of %d messages shown%s", name, len(seqs), len(ws), missing(seqs, ws)))
			continue
		}
		for k, i := range seqs {
			if i != ws[k] {
				problems = append(problems, fmt.Sprintf("%s: message #%d shown in place %d (order %v)", name, i, k+1, around(seqs, k)))
				break
			}
		}
	}
	for name := range tl.seqs {
		if _, ok := want[name]; !ok {
			problems = append(problems, fmt.Sprintf("unexpected messages from %s", name))
		}
	}
	got := slices.Sorted(slices.Values(tl.other))
	wantOther := slices.Sorted(slices.Values(extra))
	if !slices.Equal(got, wantOther) {
		problems = append(problems, fmt.Sprintf("other messages %q, want %q", got, wantOther))
	}
	if len(problems) > 0 {
		if len(problems) > 10 {
			problems = append(problems[:10], fmt.Sprintf("… and %d more", len(problems)-10))
		}
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

// missing names the first few numbers of want that seqs lacks.
func missing(seqs, want []int) string {
	have := make(map[int]bool, len(seqs))
	for _, i := range seqs {
		have[i] = true
	}
	var out []string
	for _, i := range want {
		if len(out) == 5 {
			break
		}
		if !have[i] {
			out = append(out, "#"+strconv.Itoa(i))
		}
	}
	if len(out) == 0 {
		return ""
	}
	return " (missing " + strings.Join(out, ", ") + "…)"
}

// around returns the part of seqs around index k, for error messages.
func around(seqs []int, k int) []int {
	return seqs[max(0, k-3):min(len(seqs), k+4)]
}

// rssKiB returns the resident set size of process pid, from
// /proc/PID/status, in KiB.
func rssKiB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no VmRSS", pid)
}

// sqlInt runs a query that returns one integer.
func sqlInt(ctx context.Context, db *sql.DB, query string, args ...any) (int64, error) {
	var n int64
	err := db.QueryRowContext(ctx, query, args...).Scan(&n)
	return n, err
}

// frozenThenStopped freezes d while sender (named Asha) sends n numbered messages to
// room, one at a time (so that they are published in the order
// numbered), wakes d and at once stops it cleanly, starts it again, and
// checks that its two runs together showed every message once, in order:
// what it had not handled when it stopped was not acknowledged, and the
// broker sent it again. d's history must hold all n.
func frozenThenStopped(t *testing.T, sender, d *testenv.Daemon, room string, n int) {
	t.Helper()
	shown := startTail(t, d, room)
	// The tail must be reading before d is frozen: one that reaches a
	// daemon woken and at once stopped may get nothing of what it showed.
	must(t, sender, "send", room, "ready")
	if m := next(t, shown); m.Text != "ready" {
		t.Fatalf("the tail's first message is %q, want \"ready\"", m.Text)
	}
	d.Freeze(t)
	for i := 1; i <= n; i++ {
		must(t, sender, "send", room, seqText("Asha", i))
	}
	d.Thaw(t)
	d.Stop(t)

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
	// The second run: its history holds what it showed (and not "ready",
	// which the first run showed).
	d.Start(t)
	var second []web.MessageJSON
	eventually(t, time.Minute, func() error {
		second = history(t, d, room)
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
