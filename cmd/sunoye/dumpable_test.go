//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
)

// asUser is the prefix that runs a command as an ordinary user of the
// test's uid: root's capabilities dropped (CAP_SYS_PTRACE would read any
// process), as nothing else is to drop for anyone else.
func asUser(t *testing.T) []string {
	if os.Geteuid() != 0 {
		return nil
	}
	return []string{testenv.NeedBinary(t, "setpriv", "util-linux"), "--inh-caps=-all", "--bounding-set=-all"}
}

// The daemon is not dumpable: another process of the same user cannot
// read its environment (where $SUNOYE_BROKER_PASSWORD may be) or its
// memory (room keys), as it can a dumpable process of that user's, such
// as `cat /proc/PID/environ` run by that user shows.
func TestDaemonNotDumpable(t *testing.T) {
	user := asUser(t)
	b := embeddedBackend(t)
	const marker = "SUNOYE_TEST_MARKER=visible-to-the-same-user"
	d := testenv.StartDaemon(t, testenv.DaemonConfig{Broker: b.first, DB: b.db, Name: "Asha", Wrapper: user, Env: []string{marker}})
	create(t, d) // the daemon works as usual

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A dumpable process of the same user, started the same way: its
	// environment is readable, so a refusal below is the daemon's doing.
	control := exec.CommandContext(ctx, "sleep", "600")
	if user != nil {
		control = exec.CommandContext(ctx, user[0], append(user[1:], "sleep", "600")...)
	}
	control.Env = append(os.Environ(), marker)
	if err := control.Start(); err != nil {
		t.Fatal(err)
	}
	defer control.Wait()
	defer cancel()

	read := func(pid int, file string) (string, error) {
		argv := append(append([]string(nil), user...), "cat", "/proc/"+strconv.Itoa(pid)+"/"+file)
		out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
		return string(out), err
	}
	// Until setpriv has dropped its capabilities and run sleep, the
	// control is not dumpable either (credentials that change make a
	// process undumpable until its next exec): wait for that.
	eventually(t, 20*time.Second, func() error {
		if out, err := read(control.Process.Pid, "environ"); err != nil || !strings.Contains(out, marker) {
			return fmt.Errorf("cat /proc/PID/environ of a dumpable process of the same user: %v, %q", err, out)
		}
		return nil
	})
	for _, file := range []string{"environ", "mem"} {
		out, err := read(d.PID(), file)
		if err == nil || !strings.Contains(out, "Permission denied") {
			t.Errorf("cat /proc/%d/%s of the daemon: %v, %.200q; want Permission denied", d.PID(), file, err, out)
		}
	}
}
