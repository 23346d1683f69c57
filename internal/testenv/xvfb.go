package testenv

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Xvfb starts a private X server (Xvfb, 1280x800 at 24 bits, no TCP) on a
// free display and returns the value for DISPLAY, ":N". The server is
// stopped when the test ends. Xvfb does not set environment variables.
func Xvfb(t testing.TB) string {
	t.Helper()
	bin := NeedBinary(t, "Xvfb", "xvfb")
	dir := t.TempDir()

	// With -displayfd, Xvfb picks a free display itself (using the lock
	// files in /tmp, so parallel servers do not collide) and writes its
	// number to the fd once it accepts connections.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	defer r.Close()
	cmd := exec.Command(bin, "-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp",
		// Without -noreset the server resets whenever its last client
		// disconnects, which slows tests that connect one after another.
		"-noreset")
	cmd.ExtraFiles = []*os.File{w} // fd 3 in the child
	p, err := startProcess("Xvfb", filepath.Join(dir, "Xvfb.log"), cmd)
	w.Close()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(p.stop)

	r.SetReadDeadline(time.Now().Add(readyTimeout))
	line, err := bufio.NewReader(r).ReadString('\n')
	n, convErr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || convErr != nil {
		t.Fatalf("testenv: %v", p.errorf("Xvfb did not report its display: %q, %v", line, errors.Join(err, convErr)))
	}
	socket := fmt.Sprintf("/tmp/.X11-unix/X%d", n)
	if err := p.waitReady(readyTimeout, func() error { return x11Handshake(socket) }); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return fmt.Sprintf(":%d", n)
}

// x11Handshake opens an X connection on the unix socket and checks that
// the server accepts it, which is what every X client does first.
func x11Handshake(socket string) error {
	c, err := net.DialTimeout("unix", socket, time.Second)
	if err != nil {
		// Where Xvfb cannot create /tmp/.X11-unix it listens only on
		// the abstract socket of the same name, as Xlib knows.
		c, err = net.DialTimeout("unix", "@"+socket, time.Second)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	// Connection setup: little-endian ('l'), protocol 11.0, no
	// authorization (Xvfb started without -auth accepts local clients).
	req := make([]byte, 12)
	req[0] = 'l'
	binary.LittleEndian.PutUint16(req[2:], 11)
	if _, err := c.Write(req); err != nil {
		return fmt.Errorf("X setup: %w", err)
	}
	var status [1]byte
	if _, err := io.ReadFull(c, status[:]); err != nil {
		return fmt.Errorf("X setup: %w", err)
	}
	if status[0] != 1 {
		return fmt.Errorf("X server refused the connection (status %d)", status[0])
	}
	return nil
}
