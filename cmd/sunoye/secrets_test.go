package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/mqttx"
	"github.com/sunoye/sunoye/rooms"
)

// splitPassword returns raw without its password, and the password.
func splitPassword(t *testing.T, raw string) (string, string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		t.Fatalf("URL %q: %v", raw, err)
	}
	pw, ok := u.User.Password()
	if !ok {
		t.Fatalf("URL %q has no password", raw)
	}
	u.User = url.User(u.User.Username())
	return u.String(), pw
}

// writeSecret writes a password file, with a line end as editors leave
// one, and returns its path.
func writeSecret(t *testing.T, dir, name, password string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// processListHolds returns the processes whose command line (what ps and
// every local user see) contains one of secrets.
func processListHolds(t *testing.T, secrets ...string) []string {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil || len(procs) == 0 {
		t.Fatalf("no process list: %v", err)
	}
	var found []string
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the process has gone
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				found = append(found, fmt.Sprintf("%s: %q", p, bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
			}
		}
	}
	return found
}

func generated(t *testing.T) string {
	t.Helper()
	p, err := rooms.GeneratePassword()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The passwords of the broker, of the registry and of a room each reach
// the daemon and the CLI without the command line: from password files
// (as the README shows), environment variables and the config file, on a
// broker and a MariaDB that refuse connections without them. Meanwhile
// no command line on the machine holds any of them.
func TestPasswordsOutOfArgv(t *testing.T) {
	m := testenv.StartMosquittoTLS(t)
	dir := t.TempDir()
	bu, err := url.Parse(m.URL())
	if err != nil {
		t.Fatal(err)
	}
	bu.User = url.User(m.Username) // a user, no password
	bu.RawQuery = "ca=" + url.QueryEscape(m.CAFile)
	broker := bu.String()
	dsn, dbPassword := splitPassword(t, testenv.MariaDB(t))
	roomPassword := generated(t)
	secrets := []string{m.Password, dbPassword, roomPassword}

	// Asha: the README's way, password files named by flags.
	asha := testenv.StartDaemon(t, testenv.DaemonConfig{Broker: broker, DB: dsn, Name: "Asha", Args: []string{"--headless",
		"--broker-password-file", writeSecret(t, dir, "broker.pass", m.Password),
		"--db-password-file", writeSecret(t, dir, "db.pass", dbPassword)}})
	// Bilal: environment variables.
	bilal := testenv.StartDaemon(t, testenv.DaemonConfig{Broker: broker, DB: dsn, Name: "Bilal",
		Env: []string{"SUNOYE_BROKER_PASSWORD=" + m.Password, "SUNOYE_DB_PASSWORD=" + dbPassword}})
	// Chen: the config file names password files, relative to itself.
	confDir := filepath.Join(dir, "conf")
	if err := os.Mkdir(confDir, 0o700); err != nil {
		t.Fatal(err)
	}
	writeSecret(t, confDir, "broker.pass", m.Password)
	writeSecret(t, confDir, "db.pass", dbPassword)
	conf := writeSecret(t, confDir, "config.toml", "broker_password_file = \"broker.pass\"\ndb_password_file = \"db.pass\"")
	chen := testenv.StartDaemon(t, testenv.DaemonConfig{Broker: broker, DB: dsn, Name: "Chen", Env: []string{"SUNOYE_CONFIG=" + conf}})

	// The room password: a file for create, the environment for one join,
	// standard input for the other, held open while the process list is
	// read.
	inv := create(t, asha, "--password-file", writeSecret(t, dir, "room.pass", roomPassword))
	if inv.Password != roomPassword {
		t.Fatalf("create --password-file made password %q, want the file's %q", inv.Password, roomPassword)
	}
	if r := bilal.RunEnv(t, []string{"SUNOYE_PASSWORD=" + roomPassword}, "", "join", inv.Room); r.Code != 0 {
		t.Fatalf("join with $SUNOYE_PASSWORD: exit %d: %s", r.Code, r.Stderr)
	}
	join := exec.Command(testenv.Sunoye(t), "--state-dir", chen.StateDir, "join", inv.Room, "--password-file", "-")
	join.Env = append(os.Environ(), "SUNOYE_CONFIG="+conf)
	stdin, err := join.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	join.Stdout, join.Stderr = &out, &out
	if err := join.Start(); err != nil {
		t.Fatal(err)
	}
	// Three daemons and a join in progress: nobody's command line shows a
	// password.
	if found := processListHolds(t, secrets...); len(found) > 0 {
		t.Errorf("passwords in the process list:\n%s", strings.Join(found, "\n"))
	}
	io.WriteString(stdin, roomPassword+"\n")
	stdin.Close()
	if err := join.Wait(); err != nil {
		t.Fatalf("join --password-file -: %v: %s", err, out.String())
	}

	must(t, chen, "send", inv.Room, "no secrets on the command line")
	for _, d := range []*testenv.Daemon{asha, bilal, chen} {
		waitHistory(t, d, inv.Room, "Chen: no secrets on the command line")
		for _, s := range secrets {
			if strings.Contains(d.Log(), s) {
				t.Errorf("a password is in the daemon's log:\n%s", d.Log())
			}
		}
	}
	// doctor finds the broker and the registry the same ways.
	doctor := exec.Command(testenv.Sunoye(t), "doctor", "--state-dir", bilal.StateDir, "--broker", broker, "--db", dsn)
	doctor.Env = append(os.Environ(), "SUNOYE_CONFIG=/nonexistent", "SUNOYE_BROKER_PASSWORD="+m.Password, "SUNOYE_DB_PASSWORD="+dbPassword)
	if b, err := doctor.CombinedOutput(); err != nil {
		t.Errorf("doctor with the passwords in the environment: %v\n%s", err, b)
	}
}

// A password given apart needs a URL with a user and without a password;
// a password file must hold one; the room password comes from one place.
func TestPasswordSourceErrors(t *testing.T) {
	bin := testenv.Sunoye(t)
	dir := t.TempDir()
	pass := writeSecret(t, dir, "pass", "s3cret-enough")
	empty := writeSecret(t, dir, "empty", "")
	sqlite := "sqlite://" + filepath.Join(dir, "r.db")
	embedded := "embedded://" + closedPort(t)
	tests := []struct {
		name string
		env  []string
		args []string
		says string
	}{
		{"broker password for the embedded broker", nil, []string{"up", "--broker", embedded, "--db", sqlite, "--broker-password-file", pass}, "names no user"},
		{"broker password twice", []string{"SUNOYE_BROKER_PASSWORD=x"}, []string{"up", "--broker", "tcp://u:p@127.0.0.1:1", "--db", sqlite}, "has one already"},
		{"db password for sqlite", []string{"SUNOYE_DB_PASSWORD=x"}, []string{"up", "--broker", embedded, "--db", sqlite}, "names no user"},
		{"missing password file", nil, []string{"up", "--broker", embedded, "--db", "mysql://u@127.0.0.1:1/x", "--db-password-file", filepath.Join(dir, "nope")}, "no such file"},
		{"empty password file", nil, []string{"up", "--broker", embedded, "--db", "mysql://u@127.0.0.1:1/x", "--db-password-file", empty}, "first line is empty"},
		{"both room password flags", nil, []string{"create", "--password", "s3cret-enough", "--password-file", pass}, "not both"},
		{"invite and password from stdin", nil, []string{"join", "-", "--password-file", "-"}, "standard input"},
		{"empty room password file", nil, []string{"join", "123456789", "--password-file", empty}, "first line is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, append([]string{"--state-dir", filepath.Join(dir, "state")}, tc.args...)...)
			cmd.Env = append(append(os.Environ(), "SUNOYE_CONFIG=/nonexistent"), tc.env...)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !asExit(err, &ee) || ee.ExitCode() != exitUsage {
				t.Errorf("sunoye %v: %v, want exit %d; output %s", tc.args, err, exitUsage, out)
			}
			if !strings.Contains(string(out), tc.says) {
				t.Errorf("sunoye %v said %q, want %q", tc.args, out, tc.says)
			}
		})
	}
}

// A password given apart goes into every URL of a broker list that names
// the user, read once, and the list still parses (a comma in the password
// included).
func TestBrokerListPassword(t *testing.T) {
	st := settings{
		Broker:         "tcp://alice@n1:1883,tcp://n2:1883,tcp://alice@n3:1883",
		brokerPassword: secretSource{from: "$SUNOYE_BROKER_PASSWORD", value: "pw,1"},
	}
	got, err := st.brokerURL()
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(got, "alice:pw"); n != 2 {
		t.Errorf("brokerURL() = %q: the password in %d URLs, want 2", got, n)
	}
	if _, err := mqttx.New(mqttx.Config{Broker: got}); err != nil {
		t.Errorf("the list with the password does not parse: %v", err)
	}
	st.Broker = "tcp://n1:1883,tcp://n2:1883"
	if _, err := st.brokerURL(); err == nil || !strings.Contains(err.Error(), "names no user") {
		t.Errorf("a password for a list naming no user: %v", err)
	}
}
