//go:build unix

package testenv

import (
	"bytes"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"
)

// Freeze stops the daemon with SIGSTOP, as a laptop's sleep does: it holds
// its connections but reads nothing. Thaw sends SIGCONT.
func (d *Daemon) Freeze(t testing.TB) {
	t.Helper()
	signalProcess(t, d.proc, "the daemon", syscall.SIGSTOP)
}

// Thaw wakes a frozen daemon with SIGCONT.
func (d *Daemon) Thaw(t testing.TB) {
	t.Helper()
	signalProcess(t, d.proc, "the daemon", syscall.SIGCONT)
}

// Freeze stops the broker with SIGSTOP: its connections stay open and new
// ones are accepted by the kernel, but nothing is answered, as when the
// broker's host hangs or the network drops packets. Thaw sends SIGCONT.
func (m *Mosquitto) Freeze(t testing.TB) {
	t.Helper()
	m.signal(t, syscall.SIGSTOP)
}

// Thaw wakes a frozen broker with SIGCONT.
func (m *Mosquitto) Thaw(t testing.TB) {
	t.Helper()
	m.signal(t, syscall.SIGCONT)
}

func (m *Mosquitto) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc == nil {
		t.Fatalf("testenv: mosquitto on %s is not running", m.Addr())
	}
	signalProcess(t, m.proc, "mosquitto", sig)
}

// Freeze stops the server with SIGSTOP: its connections stay open and the
// kernel accepts new ones, but nothing is answered, as when its host hangs.
// Thaw sends SIGCONT.
func (s *MariaDBServer) Freeze(t testing.TB) {
	t.Helper()
	s.signal(t, syscall.SIGSTOP)
}

// Thaw wakes a frozen server with SIGCONT.
func (s *MariaDBServer) Thaw(t testing.TB) {
	t.Helper()
	s.signal(t, syscall.SIGCONT)
}

func (s *MariaDBServer) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		t.Fatalf("testenv: mariadbd on port %d is not running", s.port)
	}
	signalProcess(t, s.proc, "mariadbd", sig)
}

// signalProcess sends sig to p (what names it in errors) and, for
// SIGSTOP and SIGCONT, waits until it took effect.
func signalProcess(t testing.TB, p *process, what string, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("testenv: %v to %s: %v", sig, what, err)
	}
	waitSignalled(t, p.cmd.Process.Pid, sig)
}

// waitSignalled waits until SIGSTOP has stopped pid, or SIGCONT has woken
// it: kill(2) returns before the signal is delivered, and on a busy
// machine a process "frozen" a moment ago may still answer. Where there
// is no /proc (not Linux), it does not wait.
func waitSignalled(t testing.TB, pid int, sig syscall.Signal) {
	t.Helper()
	if sig != syscall.SIGSTOP && sig != syscall.SIGCONT {
		return
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return
		}
		// pid (comm) STATE …: comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 || i+2 >= len(b) {
			return
		}
		state := b[i+2]
		if stopped := state == 'T' || state == 't'; stopped == (sig == syscall.SIGSTOP) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: pid %d still in state %c 10 s after %v", pid, state, sig)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
