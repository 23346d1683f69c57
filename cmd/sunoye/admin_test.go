package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sunoye/sunoye/db"
	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/web"
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
		WHERE table_schema = DATABASE() AND table_name IN ('sunoye_rooms', 'sunoye_leases', 'sunoye_room_status')`).Scan(&n)
	if err != nil || n != 3 {
		t.Errorf("after migrate: %d of 3 tables and views, %v", n, err)
	}
}

// `sunoye db grant USER@HOST` prints the statements that give a member's
// account EXECUTE on the registry's procedures, and nothing else; daemons
// on accounts made from them start without changing the schema, and
// create, join, chat and leave. It refuses an SQLite registry and an
// account without host as usage errors.
func TestDBGrant(t *testing.T) {
	admin := testenv.MariaDB(t)
	if out, err := exec.Command(testenv.Sunoye(t), "db", "migrate", "--db", admin).CombinedOutput(); err != nil {
		t.Fatalf("db migrate: %v\n%s", err, out)
	}
	broker := testenv.StartMosquitto(t).URL()
	var ds []*testenv.Daemon
	for _, name := range []string{"Asha", "Bilal"} {
		user, host, dsn := testenv.MariaDBAccount(t, admin)
		cmd := exec.Command(testenv.Sunoye(t), "db", "grant", user+"@"+host, "--db", admin)
		cmd.Env = append(os.Environ(), "SUNOYE_CONFIG=/nonexistent")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("db grant: %v", err)
		}
		want, err := db.Grants(admin, user, host)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n"); !slices.Equal(got, want) {
			t.Fatalf("db grant printed\n%s\nwant\n%s", out, strings.Join(want, "\n"))
		}
		for _, stmt := range want {
			testenv.Exec(t, admin, stmt)
		}
		ds = append(ds, testenv.StartDaemon(t, testenv.DaemonConfig{Broker: broker, DB: dsn, Name: name}))
	}
	asha, bilal := ds[0], ds[1]
	inv := create(t, asha)
	must(t, bilal, "join", inv.Room, "--password", inv.Password)
	must(t, bilal, "send", inv.Room, "hello from a member account")
	waitHistory(t, asha, inv.Room, "Bilal: hello from a member account")
	waitPresent(t, 20*time.Second, inv.Room, 2, bilal)
	must(t, bilal, "leave", inv.Room)
	must(t, asha, "leave", inv.Room, "--yes") // the last seat
	var n int
	if err := testenv.SQL(t, admin).QueryRow("SELECT COUNT(*) FROM sunoye_leases").Scan(&n); err != nil || n != 0 {
		t.Errorf("after both left: %d leases (%v), want none", n, err)
	}

	for _, c := range []struct{ args []string }{
		{[]string{"db", "grant", "alice@%", "--db", "sqlite:///tmp/registry.db"}},
		{[]string{"db", "grant", "alice", "--db", admin}},
		{[]string{"db", "frobnicate"}},
	} {
		cmd := exec.Command(testenv.Sunoye(t), c.args...)
		cmd.Env = append(os.Environ(), "SUNOYE_CONFIG=/nonexistent")
		out, err := cmd.Output()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitUsage || len(out) != 0 {
			t.Errorf("sunoye %s: %v, stdout %q; want exit %d and nothing on stdout", strings.Join(c.args[:2], " "), err, out, exitUsage)
		}
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

// `sunoye doctor` says, a line per check, what works and what is missing,
// fails only for the broker and the registry, and changes nothing: a fresh
// database stays empty.
func TestDoctor(t *testing.T) {
	m := testenv.StartMosquitto(t)
	dsn := testenv.MariaDB(t)
	bus := testenv.SessionBus(t) // nothing on it yet
	state := t.TempDir()
	doctor := func(t *testing.T, broker, display string) (map[string]string, int) {
		t.Helper()
		cmd := exec.Command(testenv.Sunoye(t), "doctor", "--state-dir", state, "--broker", broker, "--db", dsn)
		cmd.Env = append(os.Environ(), "SUNOYE_CONFIG=/nonexistent", "DBUS_SESSION_BUS_ADDRESS="+bus,
			"DISPLAY="+display, "WAYLAND_DISPLAY=")
		out, err := cmd.Output()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		// "MARK NAME(padded) message": the check's line, by name.
		lines := make(map[string]string)
		for _, l := range strings.Split(string(out), "\n") {
			for _, name := range []string{"daemon", "broker", "registry", "notification server", "tray host", "chat windows"} {
				if len(l) > 5 && strings.HasPrefix(l[5:], name+" ") {
					lines[name] = l
				}
			}
		}
		return lines, code
	}
	want := func(t *testing.T, lines map[string]string, mark, name string, says ...string) {
		t.Helper()
		l := lines[name]
		if !strings.HasPrefix(l, mark+" ") {
			t.Errorf("%s: %q, want %q", name, l, mark)
		}
		for _, s := range says {
			if !strings.Contains(l, s) {
				t.Errorf("%s: %q does not say %q", name, l, s)
			}
		}
	}

	t.Run("nothing running", func(t *testing.T) {
		lines, code := doctor(t, m.URL(), "")
		if code != 0 {
			t.Errorf("exit %d, want 0: the broker and the registry are reachable", code)
		}
		want(t, lines, "warn", "daemon", "sunoye up")
		want(t, lines, "ok  ", "broker", m.Addr(), "reachable")
		want(t, lines, "ok  ", "registry", "reachable", "no schema yet")
		want(t, lines, "warn", "notification server")
		want(t, lines, "warn", "tray host", "StatusNotifierWatcher")
		want(t, lines, "warn", "chat windows")
		var n int
		if err := testenv.SQL(t, dsn).QueryRow(`SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()`).Scan(&n); err != nil || n != 0 {
			t.Errorf("after doctor the database has %d tables (%v), want none", n, err)
		}
	})
	t.Run("broker unreachable", func(t *testing.T) {
		addr := closedPort(t)
		lines, code := doctor(t, "tcp://"+addr, "")
		if code == 0 {
			t.Error("exit 0 with an unreachable broker")
		}
		want(t, lines, "FAIL", "broker", addr, "unreachable")
		want(t, lines, "ok  ", "registry")
	})
	t.Run("broker list", func(t *testing.T) {
		addr := closedPort(t)
		lines, code := doctor(t, m.URL()+","+"tcp://"+addr, "")
		if code != 0 {
			t.Errorf("exit %d, want 0: one node of the list answers", code)
		}
		want(t, lines, "warn", "broker", "1 of 2 nodes reachable", m.Addr()+" reachable", addr, "unreachable")
		lines, code = doctor(t, "tcp://"+addr+","+"tcp://"+closedPort(t), "")
		if code == 0 {
			t.Error("exit 0 with no node of the list reachable")
		}
		want(t, lines, "FAIL", "broker", "0 of 2 nodes reachable")
		lines, code = doctor(t, m.URL()+",tcp://"+addr+":1", "")
		if code == 0 {
			t.Error("exit 0 with a malformed URL in the list")
		}
		want(t, lines, "FAIL", "broker", "broker 2 of 2", "bad broker URL")
	})
	t.Run("all there", func(t *testing.T) {
		d := testenv.StartDaemon(t, testenv.DaemonConfig{Broker: m.URL(), DB: dsn, StateDir: state, Name: "Asha"})
		testenv.NotificationServer(t, bus)
		testenv.StatusNotifierWatcher(t, bus)
		lines, code := doctor(t, m.URL(), ":99")
		if code != 0 {
			t.Errorf("exit %d, want 0", code)
		}
		want(t, lines, "ok  ", "daemon", fmt.Sprintf("pid %d", d.PID()), `"Asha"`)
		want(t, lines, "ok  ", "registry", "schema up to date")
		want(t, lines, "ok  ", "notification server")
		want(t, lines, "ok  ", "tray host")
	})
}

// `sunoye open` on a daemon that cannot show windows says so and points to
// --url; `sunoye open --url` prints a one-time link that opens the room in
// a browser once, and is refused for a room not joined.
func TestOpenFromCLI(t *testing.T) {
	b := realBackend(t)
	asha := testenv.StartDaemon(t, testenv.DaemonConfig{Broker: b.first, DB: b.db, Name: "Asha",
		Env: []string{"DISPLAY=", "WAYLAND_DISPLAY="}})
	inv := create(t, asha)

	wantExit(t, asha, "", exitError, []string{"--url"}, "open", inv.Room)
	wantExit(t, asha, "", exitNotJoined, []string{"not joined"}, "open", "--url", "123456789")

	link := strings.TrimSpace(must(t, asha, "open", "--url", inv.Room))
	if !strings.HasPrefix(link, "http://127.0.0.1:") {
		t.Fatalf("open --url printed %q, want a loopback link", link)
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u.Fragment, "launch=") || u.RawQuery != "" {
		t.Fatalf("open --url printed %q, want the one-time token in the fragment (#launch=…), which no request carries", link)
	}
	browser := &http.Client{Timeout: 10 * time.Second}
	resp, err := browser.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "SunOye") {
		t.Errorf("the link answered %d:\n%.300s", resp.StatusCode, page)
	}
	// The page exchanges the token for a session, once: another browser
	// gets nothing from it.
	status, origin, s := exchangeLaunch(t, link)
	if status != http.StatusCreated || s.View != "room/"+inv.Room {
		t.Fatalf("the page's session exchange: %d %+v", status, s)
	}
	req, _ := http.NewRequest(http.MethodGet, origin+"/v1/rooms/"+inv.Room, nil)
	req.Header.Set("Authorization", "Bearer "+s.Session)
	if resp, err := browser.Do(req); err != nil {
		t.Error(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusOK {
		t.Errorf("the room with the session: %s", resp.Status)
	}
	if status, _, _ := exchangeLaunch(t, link); status != http.StatusForbidden {
		t.Errorf("the link's token was exchanged a second time: %d", status)
	}
}

// exchangeLaunch does what the chat UI's page does with a launch link
// (http://127.0.0.1:PORT/#launch=TOKEN): it posts the token from the
// page's origin for a session. It returns the answer's status, the
// origin, and the session if there is one.
func exchangeLaunch(t *testing.T, link string) (int, string, web.SessionJSON) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	origin := u.Scheme + "://" + u.Host
	body, _ := json.Marshal(web.SessionRequest{Launch: strings.TrimPrefix(u.Fragment, "launch=")})
	req, _ := http.NewRequest(http.MethodPost, origin+"/v1/session", bytes.NewReader(body))
	req.Header.Set("Origin", origin)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s web.SessionJSON
	_ = json.NewDecoder(resp.Body).Decode(&s)
	return resp.StatusCode, origin, s
}
