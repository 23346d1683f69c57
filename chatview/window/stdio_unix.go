//go:build unix

package window

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Stdio returns the window process's channel to the daemon, its standard
// input and output, moved to descriptors that its children do not
// inherit; standard input then reads /dev/null and standard output goes
// to standard error. The web engine's helper processes would otherwise
// hold the daemon's pipes open, and anything they print would be taken
// for an event.
func Stdio() (in, out *os.File, err error) {
	move := func(fd int, name string) (*os.File, error) {
		nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
		if err != nil {
			return nil, fmt.Errorf("move %s: %w", name, err)
		}
		return os.NewFile(uintptr(nfd), name), nil
	}
	if in, err = move(0, "commands"); err != nil {
		return nil, nil, err
	}
	if out, err = move(1, "events"); err != nil {
		return nil, nil, err
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		return nil, nil, err
	}
	defer null.Close()
	if err := unix.Dup2(int(null.Fd()), 0); err != nil {
		return nil, nil, err
	}
	if err := unix.Dup2(2, 1); err != nil {
		return nil, nil, err
	}
	return in, out, nil
}
