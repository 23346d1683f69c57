package testenv

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// Linux delivers Pdeathsig when the thread that started the child ends,
// not the process. Go ends a thread when a goroutine locked to it returns,
// as GUI code under test may do, which would kill a server it happened to
// start. So every child is started from one goroutine that stays locked
// to its thread for the life of the test binary.
var spawner struct {
	once sync.Once
	reqs chan spawnRequest
}

type spawnRequest struct {
	cmd  *exec.Cmd
	errc chan error
}

// startCmd starts cmd so that it is killed when the test binary dies,
// even by SIGKILL, and no server outlives the tests.
func startCmd(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = new(syscall.SysProcAttr)
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	spawner.once.Do(func() {
		spawner.reqs = make(chan spawnRequest)
		go spawnLoop()
	})
	req := spawnRequest{cmd: cmd, errc: make(chan error, 1)}
	spawner.reqs <- req
	return <-req.errc
}

func spawnLoop() {
	runtime.LockOSThread() // never unlocked: the thread must outlive every child
	for req := range spawner.reqs {
		req.errc <- req.cmd.Start()
	}
}
