//go:build unix

package testenv

import (
	"syscall"
	"testing"
)

// Freeze stops the daemon with SIGSTOP, as a laptop's sleep does: it holds
// its connections but reads nothing. Thaw sends SIGCONT.
func (d *Daemon) Freeze(t testing.TB) {
	t.Helper()
	if err := d.proc.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("testenv: SIGSTOP: %v", err)
	}
}

// Thaw wakes a frozen daemon with SIGCONT.
func (d *Daemon) Thaw(t testing.TB) {
	t.Helper()
	if err := d.proc.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatalf("testenv: SIGCONT: %v", err)
	}
}
