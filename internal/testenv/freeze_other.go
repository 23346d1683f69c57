//go:build !unix

package testenv

import "testing"

// Without SIGSTOP (Windows) nothing can be frozen: the tests that freeze
// a server start it first, which a Windows test binary cannot (see
// NeedBinary), so these are never reached there.

func (d *Daemon) Freeze(t testing.TB)        { t.Helper(); noFreeze(t) }
func (d *Daemon) Thaw(t testing.TB)          { t.Helper(); noFreeze(t) }
func (m *Mosquitto) Freeze(t testing.TB)     { t.Helper(); noFreeze(t) }
func (m *Mosquitto) Thaw(t testing.TB)       { t.Helper(); noFreeze(t) }
func (s *MariaDBServer) Freeze(t testing.TB) { t.Helper(); noFreeze(t) }
func (s *MariaDBServer) Thaw(t testing.TB)   { t.Helper(); noFreeze(t) }

func noFreeze(t testing.TB) {
	t.Helper()
	t.Fatal("testenv: freezing a process needs SIGSTOP, which this platform lacks")
}
