package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
)

// `sunoye db migrate` creates the registry's tables on a fresh MySQL
// database, and running it again changes nothing.
func TestDBMigrate(t *testing.T) {
	dsn := testenv.MariaDB(t)
	for range 2 {
		out, err := exec.Command(testenv.Sunoye(t), "db", "migrate", "--db", dsn).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "schema up to date") {
			t.Fatalf("db migrate: %v\n%s", err, out)
		}
		if strings.Contains(string(out), strings.Split(strings.Split(dsn, ":")[2], "@")[0]) {
			t.Errorf("db migrate printed the password: %s", out)
		}
	}
	var n int
	err := testenv.SQL(t, dsn).QueryRow(`SELECT COUNT(*) FROM information_schema.tables
		WHERE table_schema = DATABASE() AND table_name IN ('sunoye_rooms', 'sunoye_members', 'sunoye_room_status')`).Scan(&n)
	if err != nil || n != 3 {
		t.Errorf("after migrate: %d of 3 tables and views, %v", n, err)
	}
}

// `sunoye broker` runs the embedded broker on its own, and two daemons
// chat through it.
func TestStandaloneBroker(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, testenv.Sunoye(t), "broker", "--listen", addr)
	cmd.Env = append(os.Environ(), "SUNOYE_CONFIG=/nonexistent")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Stopped after the daemons (cleanups run last first).
	t.Cleanup(func() { cancel(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.Contains(line, "tcp://"+addr) {
		t.Fatalf("broker printed %q, %v", line, err)
	}
	b := backend{first: "tcp://" + addr, others: "tcp://" + addr, db: "sqlite://" + t.TempDir() + "/r.db"}
	ds := b.daemons(t, "Asha", "Bilal")
	inv := create(t, ds[0])
	must(t, ds[1], "join", inv.Room, "--password", inv.Password)
	must(t, ds[1], "send", inv.Room, "via the standalone broker")
	eventually(t, 10*time.Second, func() error {
		if got := texts(history(t, ds[0], inv.Room)); len(got) != 1 {
			return fmt.Errorf("Asha's history = %q", got)
		}
		return nil
	})
}
