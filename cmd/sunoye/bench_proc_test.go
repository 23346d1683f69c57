package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
)

// What the benchmarks read about processes from Linux's /proc.

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat:
// 100 on every Linux architecture that Go supports (getconf CLK_TCK).
const clockTicks = 100

// procSample is a process's counters at one moment.
type procSample struct {
	at time.Time
	// cpu is user plus system time of all the process's threads, dead
	// ones included (/proc/PID/stat utime+stime).
	cpu time.Duration
	// switches counts the voluntary context switches of its live threads
	// (summed over /proc/PID/task/*/status): how often a thread went to
	// sleep, which is about how often one woke up.
	switches int64
	// rssKiB is the resident set (VmRSS), pssKiB its proportional share
	// (Pss in smaps_rollup: shared pages divided among their users).
	rssKiB, pssKiB int64
}

// sampleProc reads pid's counters.
func sampleProc(pid int) (procSample, error) {
	s := procSample{at: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name, field 2, is in parentheses and may hold spaces;
	// utime and stime are fields 14 and 15.
	rest := stat[bytes.LastIndexByte(stat, ')')+2:]
	f := strings.Fields(string(rest))
	if len(f) < 13 {
		return s, fmt.Errorf("/proc/%d/stat: %q", pid, stat)
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	s.cpu = time.Duration(utime+stime) * time.Second / clockTicks

	s.switches = procSwitches(pid)
	if s.rssKiB, err = statusField(fmt.Sprintf("/proc/%d/status", pid), "VmRSS"); err != nil {
		return s, err
	}
	if s.pssKiB, err = statusField(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss"); err != nil {
		return s, err
	}
	return s, nil
}

// procSwitches returns the voluntary context switches of pid's live
// threads.
func procSwitches(pid int) int64 {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	var n int64
	for _, t := range tasks {
		if v, err := statusField(t, "voluntary_ctxt_switches"); err == nil {
			n += v
		}
	}
	return n
}

// statusField returns the number after "name:" in a /proc file of
// "name: value [kB]" lines.
func statusField(path, name string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && k == name {
			fields := strings.Fields(v)
			if len(fields) == 0 {
				break
			}
			return strconv.ParseInt(fields[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("%s: no %s", path, name)
}

// idle is what a process did over an idle window.
type idle struct {
	window         time.Duration
	cpu            time.Duration
	switches       int64
	rssKiB, pssKiB int64 // at the end
	// wakes counts the times the process woke up from being quiet: the
	// samples (every idleSample) in which some thread went back to sleep,
	// after one in which none did. A wake-up of the Go runtime is a burst
	// of dozens of context switches (its sysmon thread spins down over a
	// second or so), so wakes, not switches, is how often it woke.
	wakes int
	// minGap is the shortest time between two wakes, the window if there
	// were fewer than two.
	minGap time.Duration
}

// idleSample is how often measureIdle reads the context switches.
const idleSample = 100 * time.Millisecond

// cpuPercent is CPU time per wall time, in percent of one core.
func (i idle) cpuPercent() float64 { return 100 * i.cpu.Seconds() / i.window.Seconds() }

// wakeupsPerSec is voluntary context switches per second.
func (i idle) wakeupsPerSec() float64 { return float64(i.switches) / i.window.Seconds() }

// wakesPerMin is wake-ups from quiet per minute.
func (i idle) wakesPerMin() float64 { return float64(i.wakes) / i.window.Minutes() }

// measureIdle samples every pid, watches them for window, and samples
// again.
func measureIdle(b *testing.B, window time.Duration, pids ...int) []idle {
	b.Helper()
	sample := func(pid int) procSample {
		s, err := sampleProc(pid)
		if err != nil {
			b.Fatalf("sample pid %d: %v", pid, err)
		}
		return s
	}
	before := make([]procSample, len(pids))
	out := make([]idle, len(pids))
	last := make([]int64, len(pids))
	busy := make([]bool, len(pids))
	lastWake := make([]time.Time, len(pids))
	for i, pid := range pids {
		before[i] = sample(pid)
		last[i] = before[i].switches
		out[i].minGap = window
	}
	end := time.Now().Add(window)
	for now := time.Now(); now.Before(end); now = time.Now() {
		time.Sleep(idleSample)
		for i, pid := range pids {
			sw := procSwitches(pid)
			woke := sw > last[i]
			if woke && !busy[i] {
				out[i].wakes++
				if !lastWake[i].IsZero() {
					out[i].minGap = min(out[i].minGap, now.Sub(lastWake[i]))
				}
				lastWake[i] = now
			}
			busy[i], last[i] = woke, sw
		}
	}
	for i, pid := range pids {
		s := sample(pid)
		out[i].window = s.at.Sub(before[i].at)
		out[i].cpu = s.cpu - before[i].cpu
		out[i].switches = s.switches - before[i].switches
		out[i].rssKiB, out[i].pssKiB = s.rssKiB, s.pssKiB
	}
	return out
}

// processTree returns pid and all its descendants that are alive now.
func processTree(pid int) []int { return testenv.ProcessTree(pid) }

// treeMemory sums RSS and PSS over pid's process tree, in KiB, and
// describes each process: its name, RSS and PSS.
func treeMemory(pid int) (rssKiB, pssKiB int64, names []string) {
	for _, p := range processTree(pid) {
		s, err := sampleProc(p)
		if err != nil {
			continue
		}
		rssKiB += s.rssKiB
		pssKiB += s.pssKiB
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p))
		names = append(names, fmt.Sprintf("%s (RSS %d MB, PSS %d MB)", strings.TrimSpace(string(comm)), s.rssKiB>>10, s.pssKiB>>10))
	}
	return rssKiB, pssKiB, names
}
