package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
)

// Chaos parameters: daemons in the room, rounds of faults.
const (
	chaosMembers = 4
	chaosRounds  = 24
	// catchUpTime bounds how long a member may take to be shown what it
	// missed, and the senders' messages to reach everyone at the end.
	catchUpTime = 30 * time.Second
)

// The chaos actions a round picks from.
const (
	actKill    = "kill"    // SIGKILL, the others send, start again
	actFreeze  = "freeze"  // SIGSTOP, the others send, SIGCONT and SIGTERM at once, start again
	actRestart = "restart" // SIGTERM, start again
	actBroker  = "broker"  // the broker stops and starts again
)

var chaosActions = []string{actKill, actFreeze, actRestart, actBroker}

// TestChaos: four daemons, members of one room throughout, each sending
// numbered messages one at a time through `sunoye send`, on a mosquitto
// set up as the README says, while rounds of faults picked at random hit
// them: a daemon killed with SIGKILL and started again; a daemon frozen
// (SIGSTOP) while the others send, then woken and at once stopped
// (SIGCONT, SIGTERM) and started again; a clean restart; a broker restart.
// Every run of every daemon is followed by `sunoye tail --json`. At the
// end every member must have been shown, over all its runs, every message
// that went out, each once, each sender's in the order sent.
//
// The rounds are drawn from a seed, printed at the start and on failure;
// SUNOYE_CHAOS_SEED=N replays the same rounds (the timing, hence what is
// in flight at each fault, differs from run to run).
//
// One allowance, for SIGKILL only: a daemon writes a message to the
// streams of its followers (`sunoye tail`, the chat window) just after it
// shows it, so a message shown in the instant before a SIGKILL may never
// reach the tail. The daemon has then saved its mark (for its own
// message too: it saves it once the broker confirmed the send, then
// answers `sunoye send`), so it rightly does not show it again.
// Such a message counts as shown by the killed run only if the state file
// the run left says so: its mark is there and was not when the run began
// (own messages: the run acknowledged the send, or, if the kill cut the
// send short, its state file marks it). The summary counts them.
func TestChaos(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("SUNOYE_CHAOS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("SUNOYE_CHAOS_SEED=%q: %v", v, err)
		}
		seed = n
	}
	replay := fmt.Sprintf("CI=true SUNOYE_CHAOS_SEED=%d go test -count=1 -run 'TestChaos$' -v ./cmd/sunoye", seed)
	t.Logf("chaos seed %d; to replay: %s", seed, replay)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("chaos seed %d failed; to replay: %s", seed, replay)
		}
	})
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))

	start := time.Now()
	c := &chaos{start: start, ids: make(map[string]rooms.MemberID)}
	b := durableBackend(t)
	names := []string{"Asha", "Bilal", "Carol", "Dario"}[:chaosMembers]
	ds := startDaemonsWith(t, b.first, b.db, nil, names...)
	logsOnFailure(t, ds...)
	inv := gather(t, ds...)

	ms := make([]*chaosMember, len(ds))
	for i, d := range ds {
		ms[i] = &chaosMember{c: c, name: names[i], d: d, room: inv.Room, tl: newTally(), up: make(chan struct{}),
			endedBy: make(map[int]string), marksAt: map[int]map[rooms.MemberID]rooms.Mark{1: nil}}
		ms[i].started(t)
	}
	c.members = ms
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	stop := make(chan struct{})
	ss := make([]*chaosSender, len(ms))
	for i, m := range ms {
		ss[i] = startChaosSender(ctx, t, m, stop)
	}
	c.senders = ss
	// others are the senders of every member but i.
	others := func(i int) []*chaosSender {
		return slices.Delete(slices.Clone(ss), i, i+1)
	}
	// sendMore waits until each sender in of has had k more messages
	// acknowledged: faults then come while messages flow.
	sendMore := func(k int, of ...*chaosSender) {
		t.Helper()
		want := make([]int, len(of))
		for j, s := range of {
			want[j] = s.ackedCount() + k
		}
		eventually(t, time.Minute, func() error {
			for j, s := range of {
				if n := s.ackedCount(); n < want[j] {
					return fmt.Errorf("%s has %d messages acknowledged, want %d", s.name, n, want[j])
				}
			}
			return nil
		})
	}
	// caughtUp waits until each member in which has been shown every
	// message acknowledged by the broker before it started, and returns
	// how long that took from since.
	caughtUp := func(since time.Time, which ...*chaosMember) time.Duration {
		t.Helper()
		last := make(map[string]int)
		for _, s := range ss {
			last[s.name] = s.lastAcked()
		}
		eventually(t, catchUpTime, func() error {
			for _, m := range which {
				if err := m.shows(last); err != nil {
					return err
				}
			}
			return nil
		})
		return time.Since(since)
	}
	restart := func(m *chaosMember) time.Duration {
		t.Helper()
		m.waitTail(t)
		m.beforeStart(t)
		t0 := time.Now()
		m.d.Start(t)
		m.started(t)
		return caughtUp(t0, m)
	}

	// Messages flow before the first fault.
	sendMore(3, ss...)
	counts := make(map[string]int)
	var maxCatchUp time.Duration
	var maxCatchUpRound string
	for round := 1; round <= chaosRounds; round++ {
		act := chaosActions[rng.IntN(len(chaosActions))]
		v := rng.IntN(len(ms))
		k := 2 + rng.IntN(10) // messages each other member sends while the victim is away
		m := ms[v]
		counts[act]++
		var took time.Duration
		var what string
		switch act {
		case actKill:
			what = fmt.Sprintf("SIGKILL %s, the others send %d each, start it", m.name, k)
			m.down("SIGKILL")
			m.d.Kill(t)
			sendMore(k, others(v)...)
			took = restart(m)
		case actFreeze:
			what = fmt.Sprintf("SIGSTOP %s, the others send %d each, SIGCONT and SIGTERM, start it", m.name, k)
			m.down("SIGSTOP")
			m.d.Freeze(t)
			sendMore(k, others(v)...)
			m.note("SIGCONT, SIGTERM")
			m.d.Thaw(t)
			m.d.Stop(t)
			took = restart(m)
		case actRestart:
			what = fmt.Sprintf("SIGTERM %s, start it", m.name)
			m.down("SIGTERM")
			m.d.Stop(t)
			took = restart(m)
		case actBroker:
			what = "broker stopped until every daemon noticed, started"
			b.mosquitto.Stop(t)
			waitConnected(t, 30*time.Second, inv.Room, false, ds...)
			t0 := time.Now()
			b.mosquitto.Start(t)
			waitConnected(t, time.Minute, inv.Room, true, ds...)
			took = caughtUp(t0, ms...)
		}
		if took > maxCatchUp {
			maxCatchUp, maxCatchUpRound = took, fmt.Sprintf("round %d, %s", round, act)
		}
		t.Logf("round %2d: %s; caught up in %v", round, what, took.Round(time.Millisecond))
		// Messages flow between faults too.
		sendMore(1+rng.IntN(3), ss...)
	}
	chaosTime := time.Since(start)

	// Every sender stops after a message the broker acknowledged, so
	// that whatever went out before it has reached every member once it
	// has.
	close(stop)
	want := make(map[string][]int)
	unsure := make(map[string][]int)
	last := make(map[string]int)
	total, totalUnsure := 0, 0
	for _, s := range ss {
		s.wait(t)
		want[s.name] = s.ackedNumbers()
		unsure[s.name] = s.unsureNumbers()
		last[s.name] = s.lastAcked()
		total += len(want[s.name])
		totalUnsure += len(unsure[s.name])
	}
	t0 := time.Now()
	eventually(t, catchUpTime, func() error {
		for _, m := range ms {
			if err := m.shows(last); err != nil {
				return err
			}
		}
		return nil
	})
	settle := time.Since(t0)

	// A send whose daemon died or stopped under it may or may not have
	// gone out. If it did, every member must show it; if not, none.
	wentOut := 0
	for name, us := range unsure {
		for _, i := range us {
			var shownBy []string
			for _, m := range ms {
				if m.showsNumber(name, i) || m.killedShowing(name, i) > 0 {
					shownBy = append(shownBy, m.name)
				}
			}
			switch len(shownBy) {
			case 0:
			case len(ms):
				wentOut++
				want[name] = append(want[name], i)
			default:
				t.Errorf("%s's message #%d, whose send was interrupted, was shown by %v only (seed %d)", name, i, shownBy, seed)
				want[name] = append(want[name], i)
			}
		}
		slices.Sort(want[name])
	}
	excused := 0
	for _, m := range ms {
		tl, n := m.tallyWithKilled(want)
		excused += n
		if err := tl.checkSeqs(want, nil); err != nil {
			t.Errorf("%s (%d runs, %d shown): %v (seed %d)", m.name, m.runCount(), tl.total(), err, seed)
			t.Logf("%s: %s", m.name, m.report(want))
		}
	}
	for _, s := range ss {
		for _, f := range s.failures() {
			t.Errorf("%s: %s (seed %d)", s.name, f, seed)
		}
	}
	if t.Failed() {
		saveLogs(t, ds)
	}
	t.Logf("chaos seed %d: %d daemons, %d rounds (%s) in %v; %d messages sent and acknowledged, %d sends cut short by a fault (%d of them went out); what every member was shown checked over %d runs of the daemons (%d messages shown just before a SIGKILL and not read by the tail, per the state file); all shown %v after the last send; longest catch-up %v (%s); the whole test %v",
		seed, len(ms), chaosRounds, actionCounts(counts), chaosTime.Round(time.Millisecond), total, totalUnsure, wentOut,
		c.totalRuns(), excused, settle.Round(time.Millisecond), maxCatchUp.Round(time.Millisecond), maxCatchUpRound, time.Since(start).Round(time.Millisecond))
}

func actionCounts(counts map[string]int) string {
	var parts []string
	for _, a := range chaosActions {
		parts = append(parts, fmt.Sprintf("%s %d", a, counts[a]))
	}
	return strings.Join(parts, ", ")
}

// chaos is what the members and senders of the chaos test share.
type chaos struct {
	start   time.Time
	members []*chaosMember
	senders []*chaosSender

	mu  sync.Mutex
	ids map[string]rooms.MemberID // display name → member id, learned from the tails
}

// since is the time since the test started, for reports.
func (c *chaos) since() time.Duration { return time.Since(c.start).Round(time.Millisecond) }

func (c *chaos) id(name string) rooms.MemberID {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ids[name]
}

func (c *chaos) sender(name string) *chaosSender {
	for _, s := range c.senders {
		if s.name == name {
			return s
		}
	}
	return nil
}

func (c *chaos) totalRuns() int {
	n := 0
	for _, m := range c.members {
		n += m.runCount()
	}
	return n
}

// chaosMember is one daemon of the chaos test, across its runs: what all
// of its runs' tails showed, and whether it is up.
type chaosMember struct {
	c    *chaos
	name string
	d    *testenv.Daemon
	room string

	mu      sync.Mutex
	tl      *tally
	order   map[string][]shownIn // sender → the numbers shown, in order, with the run that showed each
	runs    int                  // runs so far; the current one is number runs
	runNo   uint64               // the daemon's own number of its current run (state.json's run)
	endedBy map[int]string       // run → the signal that ended it
	// marksAt[k] are the marks in the state file when run k started,
	// hence also those run k-1 left.
	marksAt map[int]map[rooms.MemberID]rooms.Mark
	tailEnd chan struct{} // closed once the current run's tail has ended
	up      chan struct{} // closed while the daemon is up; a new one when it goes down
	faults  int           // times the daemon was killed, frozen or stopped
	history []string      // how each run started and ended, for failure reports
}

type shownIn struct{ i, run int }

// started follows the run just started with `sunoye tail --json`, and
// lets the sender go on.
func (m *chaosMember) started(t *testing.T) {
	t.Helper()
	runNo, _ := readChaosState(t, m.d.StateDir, m.room)
	shown := startTail(t, m.d, m.room)
	m.mu.Lock()
	m.runs++
	run := m.runs
	m.runNo = runNo
	m.history = append(m.history, fmt.Sprintf("run %d (daemon's run %d) started %v", run, runNo, m.c.since()))
	end := make(chan struct{})
	m.tailEnd = end
	close(m.up)
	m.mu.Unlock()
	go func() {
		defer close(end)
		for msg := range shown {
			name, i, ok := parseSeq(msg.Text)
			if ok && msg.Own {
				m.c.mu.Lock()
				m.c.ids[name] = rooms.MemberID(msg.Sender)
				m.c.mu.Unlock()
			}
			m.mu.Lock()
			m.tl.add(msg)
			if ok {
				if m.order == nil {
					m.order = make(map[string][]shownIn)
				}
				m.order[name] = append(m.order[name], shownIn{i, run})
			}
			m.mu.Unlock()
		}
		m.mu.Lock()
		m.history = append(m.history, fmt.Sprintf("run %d's tail ended %v", run, m.c.since()))
		m.mu.Unlock()
	}()
}

// beforeStart records the marks the ended run left in the state file.
func (m *chaosMember) beforeStart(t *testing.T) {
	t.Helper()
	_, marks := readChaosState(t, m.d.StateDir, m.room)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.marksAt[m.runs+1] = marks
}

// down records that the daemon is about to be killed, frozen or stopped.
func (m *chaosMember) down(how string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.history = append(m.history, fmt.Sprintf("run %d: %s %v", m.runs, how, m.c.since()))
	m.faults++
	m.endedBy[m.runs] = how
	m.up = make(chan struct{})
}

// note records an event in the member's history.
func (m *chaosMember) note(what string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.history = append(m.history, fmt.Sprintf("run %d: %s %v", m.runs, what, m.c.since()))
}

// state returns the faults so far, the channel closed while the daemon is
// up, and the current run (ours and the daemon's number of it).
func (m *chaosMember) state() (faults int, up chan struct{}, run int, runNo uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.faults, m.up, m.runs, m.runNo
}

func (m *chaosMember) runCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.runs
}

// waitTail waits for the tail of the run that ended to end too: what it
// showed is then all counted, before the next run's.
func (m *chaosMember) waitTail(t *testing.T) {
	t.Helper()
	m.mu.Lock()
	end := m.tailEnd
	m.mu.Unlock()
	select {
	case <-end:
	case <-time.After(30 * time.Second):
		t.Fatalf("the tail of %s did not end with its daemon", m.name)
	}
}

// shows reports whether the member has been shown, for each sender, the
// message numbered last[sender] (and by order, those before it).
func (m *chaosMember) shows(last map[string]int) error {
	for name, n := range last {
		if n > 0 && !m.showsNumber(name, n) && m.killedShowing(name, n) == 0 {
			m.mu.Lock()
			defer m.mu.Unlock()
			return fmt.Errorf("%s has not been shown %s (run %d; last of %s shown: %v)", m.name, seqText(name, n), m.runs, name, lastOf(m.order[name]))
		}
	}
	return nil
}

func lastOf(s []shownIn) any {
	if len(s) == 0 {
		return "none"
	}
	return s[len(s)-1].i
}

func (m *chaosMember) showsNumber(name string, i int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.ContainsFunc(m.order[name], func(s shownIn) bool { return s.i == i })
}

// killedShowing returns the run, ended by SIGKILL, that showed message i
// of name by the state file it left, though its tail did not read it; 0 if
// none did.
func (m *chaosMember) killedShowing(name string, i int) int {
	s := m.c.sender(name)
	if s == nil {
		return 0
	}
	p, ok := s.position(i)
	cut, wasCut := s.cutPosition(i)
	if !ok && !wasCut {
		return 0
	}
	id := m.c.id(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	// What the tail missed is what the run showed last: its tail read
	// nothing of name's after it.
	suffix := func(k int) bool {
		return !slices.ContainsFunc(m.order[name], func(s shownIn) bool { return s.run == k && s.i > i })
	}
	// marked reports whether run k's state file marks p and the one it
	// started with did not.
	marked := func(k int, p position) bool {
		after, ok := m.marksAt[k+1]
		return ok && id != "" && after[id].Covers(p.runNo, p.seq) && !m.marksAt[k][id].Covers(p.runNo, p.seq)
	}
	if name == m.name {
		// Our own message: shown when the send was answered, by the run
		// that answered it; or, if the SIGKILL cut the send short, once
		// the run saved its mark (the broker had confirmed it), which it
		// does just before it shows it.
		switch {
		case ok && m.endedBy[p.run] == "SIGKILL" && suffix(p.run):
			return p.run
		case wasCut && m.endedBy[cut.run] == "SIGKILL" && suffix(cut.run) && marked(cut.run, cut):
			return cut.run
		}
		return 0
	}
	if !ok {
		return 0
	}
	for k, how := range m.endedBy {
		if how == "SIGKILL" && marked(k, p) && suffix(k) {
			return k
		}
	}
	return 0
}

// tallyWithKilled returns the member's tally with the messages its runs
// showed just before a SIGKILL, by their state files, though their tails
// did not read them, each in the place its run showed it; and how many
// those are.
func (m *chaosMember) tallyWithKilled(want map[string][]int) (*tally, int) {
	add := make(map[string][]shownIn)
	for name, ws := range want {
		for _, i := range ws {
			if m.showsNumber(name, i) {
				continue
			}
			if k := m.killedShowing(name, i); k > 0 {
				add[name] = append(add[name], shownIn{i, k})
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	tl := &tally{ids: m.tl.ids, seqs: make(map[string][]int), other: m.tl.other}
	n := 0
	for name, shown := range m.order {
		extra := add[name]
		n += len(extra)
		var seqs []int
		for _, s := range shown {
			// The killed run's messages go after everything it showed.
			for len(extra) > 0 && extra[0].run < s.run {
				seqs = append(seqs, extra[0].i)
				extra = extra[1:]
			}
			seqs = append(seqs, s.i)
		}
		for _, e := range extra {
			seqs = append(seqs, e.i)
		}
		tl.seqs[name] = seqs
	}
	return tl, n
}

// report describes, for a failure, where the member's runs began and
// ended and when each message it missed or saw more than once was sent.
func (m *chaosMember) report(want map[string][]int) string {
	var b strings.Builder
	m.mu.Lock()
	fmt.Fprintf(&b, "history: %s", strings.Join(m.history, "; "))
	m.mu.Unlock()
	for name, ws := range want {
		s := m.c.sender(name)
		for _, i := range ws {
			m.mu.Lock()
			var runs []int
			for _, sh := range m.order[name] {
				if sh.i == i {
					runs = append(runs, sh.run)
				}
			}
			m.mu.Unlock()
			if len(runs) == 1 {
				continue
			}
			p, known := s.position(i)
			fmt.Fprintf(&b, "\n  %s: shown by runs %v; %s", seqText(name, i), runs, s.when(i))
			if known {
				fmt.Fprintf(&b, " (sender's run %d, seq %d); %s", p.runNo, p.seq, m.markedBy(name, p))
			} else if p, cut := s.cutPosition(i); cut {
				fmt.Fprintf(&b, " (cut short; if numbered, sender's run %d, seq %d); %s", p.runNo, p.seq, m.markedBy(name, p))
			}
		}
	}
	return b.String()
}

// markedBy says which of the member's ended runs left a mark of message p
// of name in the state file, and how each ended: a run that marked a
// message its tail did not read took it to be shown.
func (m *chaosMember) markedBy(name string, p position) string {
	id := m.c.id(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k := 1; k < m.runs; k++ {
		after, ok := m.marksAt[k+1]
		if ok && after[id].Covers(p.runNo, p.seq) && !m.marksAt[k][id].Covers(p.runNo, p.seq) {
			out = append(out, fmt.Sprintf("run %d (ended by %s)", k, m.endedBy[k]))
		}
	}
	if len(out) == 0 {
		return "no run's state file marks it"
	}
	return "marked by " + strings.Join(out, ", ")
}

// readChaosState reads a daemon's state file: its run number and its
// marks in room.
func readChaosState(t *testing.T, dir, room string) (uint64, map[rooms.MemberID]rooms.Mark) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		t.Fatal(err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("%s: %v", stateFile, err)
	}
	for _, r := range st.Rooms {
		if string(r.ID) == room {
			return st.Run, r.Marks
		}
	}
	return st.Run, nil
}

// saveLogs writes every daemon's whole log to the test's artifact
// directory (kept with go test -artifacts).
func saveLogs(t *testing.T, ds []*testenv.Daemon) {
	dir := t.ArtifactDir()
	for i, d := range ds {
		p := filepath.Join(dir, fmt.Sprintf("daemon%d.log", i))
		if err := os.WriteFile(p, []byte(d.Log()), 0o644); err != nil {
			t.Log(err)
			continue
		}
		t.Logf("log of the daemon in %s: %s", d.StateDir, p)
	}
}

// chaosSender sends numbered messages from one member through `sunoye
// send`, one at a time. A send that its daemon did not take (no daemon
// answers, the room is not joined yet) is made again once the daemon is
// back, with the same number. A send that its daemon's death or stop cut
// short may have gone out or not: it is recorded as unsure, and the next
// send takes the next number, so that no message is sent twice.
type chaosSender struct {
	name string
	m    *chaosMember
	done chan struct{}

	mu       sync.Mutex
	acked    []int            // numbers the broker acknowledged (`sunoye send` succeeded)
	unsure   []int            // numbers whose send a fault cut short
	problems []string         // sends that failed without a fault
	pos      map[int]position // number → where it stands in the daemon's sequence, when known
	cutPos   map[int]position // unsure number → where it stands if its daemon numbered it
	times    map[int]string   // number → when its send started and ended, for failure reports
}

// position is where a message stands: the run of the member that sent
// it (ours, and the daemon's number of it), and its sequence number in
// that run, as its receivers' marks count it.
type position struct {
	run        int
	runNo, seq uint64
}

func startChaosSender(ctx context.Context, t *testing.T, m *chaosMember, stop <-chan struct{}) *chaosSender {
	s := &chaosSender{name: m.name, m: m, done: make(chan struct{}), pos: make(map[int]position), cutPos: make(map[int]position), times: make(map[int]string)}
	bin := testenv.Sunoye(t)
	go func() {
		defer close(s.done)
		lastOK := false
		// The daemon numbers the messages each of its runs sends: seq
		// counts the sends that reached the current run, while known.
		var curRun int
		var seq uint64
		known := false
		for i := 1; ; {
			select {
			case <-stop:
				if lastOK {
					return
				}
			case <-ctx.Done():
				return
			default:
			}
			faults, up, run, runNo := m.state()
			if run != curRun {
				curRun, seq, known = run, 0, true
			}
			began := m.c.since()
			code, out := cliSend(ctx, bin, m.d, m.room, seqText(m.name, i))
			if ctx.Err() != nil {
				return
			}
			after, nowUp, runAfter, _ := m.state()
			s.mu.Lock()
			s.times[i] = fmt.Sprintf("sent %v–%v, exit %d", began, m.c.since(), code)
			s.mu.Unlock()
			lastOK = code == 0
			faulted := after != faults || !isClosed(up) || !isClosed(nowUp)
			if runAfter != run {
				known = false // which run answered is not known
			}
			switch {
			case code == 0:
				seq++
				s.mu.Lock()
				s.acked = append(s.acked, i)
				if known {
					s.pos[i] = position{run: run, runNo: runNo, seq: seq}
				}
				s.mu.Unlock()
				i++
				continue
			case code == exitNoDaemon || code == exitNotJoined:
				// Not taken: the same number again once the daemon is up.
			case faulted:
				s.mu.Lock()
				s.unsure = append(s.unsure, i)
				if known && runAfter == run {
					// If the daemon numbered it, it is the next of the run.
					s.cutPos[i] = position{run: run, runNo: runNo, seq: seq + 1}
				}
				s.mu.Unlock()
				known = false // it may have been numbered or not
				i++
			default:
				known = false
				s.mu.Lock()
				s.problems = append(s.problems, fmt.Sprintf("send #%d failed with no fault: exit %d: %s", i, code, strings.TrimSpace(out)))
				s.mu.Unlock()
				i++
			}
			// Wait for the daemon to be up again, or, if it is up and
			// still refuses, a moment.
			_, up, _, _ = m.state()
			select {
			case <-up:
				if !faulted {
					select {
					case <-time.After(50 * time.Millisecond): // retry pace
					case <-ctx.Done():
						return
					}
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(func() {
		// The test's context is cancelled first (cleanups run in reverse).
		<-s.done
	})
	return s
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// cliSend runs `sunoye send ROOM TEXT` against d and returns its exit
// code and output.
func cliSend(ctx context.Context, bin string, d *testenv.Daemon, room, text string) (int, string) {
	cmd := exec.CommandContext(ctx, bin, "--state-dir", d.StateDir, "send", room, text)
	cmd.Env = append(os.Environ(), "SUNOYE_CONFIG=/nonexistent")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String()
	default:
		return -1, err.Error()
	}
}

func (s *chaosSender) ackedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.acked)
}

func (s *chaosSender) lastAcked() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.acked) == 0 {
		return 0
	}
	return s.acked[len(s.acked)-1]
}

func (s *chaosSender) ackedNumbers() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.acked)
}

func (s *chaosSender) unsureNumbers() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.unsure)
}

func (s *chaosSender) position(i int) (position, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pos[i]
	return p, ok
}

// cutPosition is where unsure message i stands if its daemon numbered it.
func (s *chaosSender) cutPosition(i int) (position, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.cutPos[i]
	return p, ok
}

func (s *chaosSender) when(i int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.times[i]
}

func (s *chaosSender) failures() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.problems)
}

// wait waits for the sender to stop after its last acknowledged message.
func (s *chaosSender) wait(t *testing.T) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s's sends did not end", s.name)
	}
}
