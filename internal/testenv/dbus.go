package testenv

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// busConfig is the configuration of a private session bus. It is the
// standard session bus's policy, but it lists no service directories: the
// bus must not start whatever the machine has installed (a notification
// daemon, say) when a test calls a name nobody owns. Tests start the
// services they want themselves.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

// SessionBus starts a private D-Bus session bus (dbus-daemon --session
// semantics, with its own configuration: see busConfig) and returns its
// address, for DBUS_SESSION_BUS_ADDRESS. The bus is stopped when the test
// ends. SessionBus does not set environment variables; the caller decides
// who gets the address.
func SessionBus(t testing.TB) string {
	t.Helper()
	bin := NeedBinary(t, "dbus-daemon", "dbus-daemon")
	dir := shortTempDir(t, "dbus")
	socket := filepath.Join(dir, "bus")
	var escaped bytes.Buffer
	xml.EscapeText(&escaped, []byte(socket))
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, busConfig, escaped.String()), 0o600); err != nil {
		t.Fatalf("testenv: writing dbus config: %v", err)
	}

	// The daemon prints its address on stdout once it listens.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	defer r.Close()
	cmd := exec.Command(bin, "--config-file="+conf, "--nofork", "--nopidfile", "--print-address=1")
	cmd.Stdout = w
	p, err := startProcess("dbus-daemon", filepath.Join(dir, "dbus-daemon.log"), cmd)
	w.Close() // the child has its copy; ours would keep the read below from seeing EOF
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(p.stop)

	r.SetReadDeadline(time.Now().Add(readyTimeout))
	line, err := bufio.NewReader(r).ReadString('\n')
	addr := strings.TrimSpace(line)
	if err != nil || addr == "" {
		t.Fatalf("testenv: %v", p.errorf("dbus-daemon printed no address: %v", err))
	}
	if err := p.waitReady(readyTimeout, func() error { return dialUnix(socket) }); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return addr
}

// dialUnix checks that the unix socket at path accepts connections.
func dialUnix(path string) error {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}
