package main

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// notDumpable makes the daemon non-dumpable: no core dump, and other
// processes of the same user without CAP_SYS_PTRACE can neither attach
// to it nor read its /proc/PID/environ, mem or fd (the kernel gives those
// files to root). The daemon holds room keys and may hold the broker and
// registry passwords; a process that only runs as the same user should
// not be able to read them out of it.
func notDumpable() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("make the daemon non-dumpable: %w", err)
	}
	return nil
}
