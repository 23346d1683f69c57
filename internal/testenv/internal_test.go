package testenv

import (
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWaitReadyShowsLogTail(t *testing.T) {
	sh := NeedBinary(t, "sh", "dash")
	p, err := startProcess("sh", filepath.Join(t.TempDir(), "log"), exec.Command(sh, "-c", "echo the server said boom >&2; exit 3"))
	if err != nil {
		t.Fatal(err)
	}
	err = p.waitReady(5*time.Second, func() error { return errors.New("not yet") })
	if err == nil || !strings.Contains(err.Error(), "exited") || !strings.Contains(err.Error(), "the server said boom") {
		t.Fatalf("waitReady = %v; want it to say the process exited, with its log", err)
	}
}

// occupy listens on a free port on 127.0.0.1 until the test ends.
func occupy(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// The first start of a server retries on new ports only if it recognises
// that its port was taken; these check that it does.

func TestMosquittoPortTaken(t *testing.T) {
	bin := NeedBinary(t, "mosquitto", "mosquitto")
	for _, ws := range []bool{false, true} {
		m := &Mosquitto{bin: bin, dir: t.TempDir(), port: occupy(t), wsPort: FreePort(t)}
		if ws {
			m.port, m.wsPort = m.wsPort, m.port
		}
		t.Cleanup(m.stop)
		if err := m.start(); !errors.Is(err, errPortTaken) {
			t.Fatalf("start with the %s port taken: %v; want errPortTaken", map[bool]string{false: "MQTT", true: "websockets"}[ws], err)
		}
	}
}

func TestMariaDBPortTaken(t *testing.T) {
	bins := needMariaDB(t)
	s := &MariaDBServer{bin: bins.mariadbd, dir: shortTempDir(t, "mdb"), port: occupy(t)}
	if err := s.install(bins.installDB); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	if err := s.start(); !errors.Is(err, errPortTaken) {
		t.Fatalf("start on a taken port: %v; want errPortTaken", err)
	}
}

func TestDatabaseName(t *testing.T) {
	got := databaseName("TestRooms/join a room#01", 7)
	if got != "t7_testrooms_join_a_room_01" {
		t.Errorf("databaseName = %q", got)
	}
	if long := databaseName(strings.Repeat("x", 100), 123); len(long) != 64 {
		t.Errorf("databaseName of a long test name has length %d, want 64", len(long))
	}
}
