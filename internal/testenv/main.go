package testenv

import (
	"os"
	"sync"
	"sync/atomic"
	"testing"
)

// mainRunning is set while Main runs the tests, so that helpers whose
// servers are shared across tests know someone will stop them.
var mainRunning atomic.Bool

// atExit holds the functions that stop the shared servers, run by Main.
var atExit struct {
	sync.Mutex
	funcs []func()
}

// Main runs the tests of a package and then stops the servers shared
// across the package's tests (the shared MariaDB) and removes their files.
// Use it as
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M) {
	mainRunning.Store(true)
	code := m.Run()
	stopShared()
	os.Exit(code)
}

// onExit registers f to be run by Main after the tests.
func onExit(f func()) {
	atExit.Lock()
	defer atExit.Unlock()
	atExit.funcs = append(atExit.funcs, f)
}

// stopShared runs the functions registered with onExit, last first.
func stopShared() {
	atExit.Lock()
	funcs := atExit.funcs
	atExit.funcs = nil
	atExit.Unlock()
	for i := len(funcs) - 1; i >= 0; i-- {
		funcs[i]()
	}
}
