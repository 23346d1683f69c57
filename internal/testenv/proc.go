package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Timeouts for servers to come up and to go down.
const (
	readyTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
	pollInterval = 20 * time.Millisecond
	logTailLines = 30
)

// process is a server running as a child of the test binary, with its
// output appended to a log file so that a failure can show what it said.
type process struct {
	name    string
	logPath string
	logOff  int64 // size of the log when this run started
	cmd     *exec.Cmd
	exited  chan struct{} // closed once the process has been waited for
	waitErr error         // valid once exited is closed
}

// startProcess starts cmd with its stdout and stderr, unless already set,
// appended to logPath.
func startProcess(name, logPath string, cmd *exec.Cmd) (*process, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening %s log: %w", name, err)
	}
	// The child gets its own copy of the file; ours is not needed after Start.
	defer logf.Close()
	off, err := logf.Seek(0, 2)
	if err != nil {
		return nil, fmt.Errorf("opening %s log: %w", name, err)
	}
	if cmd.Stdout == nil {
		cmd.Stdout = logf
	}
	if cmd.Stderr == nil {
		cmd.Stderr = logf
	}
	if err := startCmd(cmd); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{
		name:    name,
		logPath: logPath,
		logOff:  off,
		cmd:     cmd,
		exited:  make(chan struct{}),
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// stop asks the process to terminate, kills it if it does not within
// stopTimeout, and waits for it.
func (p *process) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	// Where SIGTERM cannot be sent (Windows), kill at once.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.cmd.Process.Kill()
	}
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// waitReady polls ready until it succeeds, the process exits, or the
// timeout passes. The error says which, with the tail of the log.
func (p *process) waitReady(timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		select {
		case <-p.exited:
			return p.errorf("%s exited before it was ready: %v", p.name, p.waitErr)
		default:
		}
		if time.Now().After(deadline) {
			return p.errorf("%s not ready after %v: %v", p.name, timeout, err)
		}
		time.Sleep(pollInterval)
	}
}

// errorf returns an error with the tail of the process's log appended,
// because the log, in a temp dir, is gone by the time anyone looks.
func (p *process) errorf(format string, args ...any) error {
	return fmt.Errorf("%s\n--- last lines of %s ---\n%s", fmt.Sprintf(format, args...), p.logPath, p.tail())
}

// tail returns the last lines of the log.
func (p *process) tail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	return strings.Join(lines, "\n")
}

// logSinceStart returns what the process has logged in this run, which
// excludes earlier runs that appended to the same log.
func (p *process) logSinceStart() []byte {
	b, err := os.ReadFile(p.logPath)
	if err != nil || int64(len(b)) < p.logOff {
		return nil
	}
	return b[p.logOff:]
}

// addrInUse reports whether the process failed because its port was
// taken, which another process can do between FreePort and the bind. It
// looks for "Address already in use" or one of the other given messages
// in the log.
func (p *process) addrInUse(messages ...string) bool {
	select {
	case <-p.exited:
	default:
		return false
	}
	log := p.logSinceStart()
	for _, msg := range append(messages, "Address already in use") {
		if bytes.Contains(log, []byte(msg)) {
			return true
		}
	}
	return false
}
