package testenv_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/godbus/dbus/v5"

	"github.com/sunoye/sunoye/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// fakeTB records what NeedBinary does to a test instead of doing it.
type fakeTB struct {
	testing.TB
	fatal, skip string
}

func (f *fakeTB) Helper()                           {}
func (f *fakeTB) Fatalf(format string, args ...any) { f.fatal = fmt.Sprintf(format, args...) }
func (f *fakeTB) Skipf(format string, args ...any)  { f.skip = fmt.Sprintf(format, args...) }

func TestNeedBinary(t *testing.T) {
	t.Run("found", func(t *testing.T) {
		if got := testenv.NeedBinary(t, "sh", "dash"); !strings.HasPrefix(got, "/") {
			t.Errorf("NeedBinary(sh) = %q, want an absolute path", got)
		}
	})
	for _, ci := range []string{"true", ""} {
		t.Run("missing/CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			f := &fakeTB{TB: t}
			got := testenv.NeedBinary(f, "sunoye-no-such-program", "sunoye-pkg")
			if got != "" {
				t.Errorf("NeedBinary = %q, want \"\"", got)
			}
			msg, other := f.skip, f.fatal
			if ci == "true" {
				msg, other = f.fatal, f.skip
			}
			if !strings.Contains(msg, "sunoye-pkg") || other != "" {
				t.Errorf("CI=%q: fatal %q, skip %q; want only the %s, naming the package", ci, f.fatal, f.skip, map[bool]string{true: "fatal", false: "skip"}[ci == "true"])
			}
		})
	}
}

func TestFreePort(t *testing.T) {
	seen := make(map[int]bool)
	for range 50 {
		p := testenv.FreePort(t)
		if seen[p] {
			t.Fatalf("FreePort returned %d twice", p)
		}
		seen[p] = true
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatalf("port %d from FreePort is not free: %v", p, err)
		}
		ln.Close()
	}
}

// mqttConnect connects a paho client, the one SunOye uses.
func mqttConnect(t *testing.T, opts *mqtt.ClientOptions) (mqtt.Client, error) {
	t.Helper()
	opts.SetClientID(fmt.Sprintf("testenv-%d", time.Now().UnixNano())).
		SetConnectTimeout(5 * time.Second).
		SetAutoReconnect(false)
	c := mqtt.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, errors.New("connect timed out")
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c, nil
}

// roundTrip subscribes, publishes and checks that the message comes back.
func roundTrip(t *testing.T, opts *mqtt.ClientOptions) {
	t.Helper()
	c, err := mqttConnect(t, opts)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	got := make(chan string, 1)
	if tok := c.Subscribe("testenv/x", 1, func(_ mqtt.Client, m mqtt.Message) { got <- string(m.Payload()) }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	if tok := c.Publish("testenv/x", 1, false, "hello"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	select {
	case m := <-got:
		if m != "hello" {
			t.Errorf("got %q, want hello", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("message did not come back")
	}
}

// cliRoundTrip publishes a retained message with mosquitto_pub and reads
// it back with mosquitto_sub; retained, so no race between the two.
func cliRoundTrip(t *testing.T, port string, extra ...string) error {
	t.Helper()
	pub := testenv.NeedBinary(t, "mosquitto_pub", "mosquitto-clients")
	sub := testenv.NeedBinary(t, "mosquitto_sub", "mosquitto-clients")
	common := append([]string{"-h", "127.0.0.1", "-p", port, "-t", "testenv/cli"}, extra...)
	if out, err := exec.Command(pub, append(common, "-r", "-q", "1", "-m", "hi from cli")...).CombinedOutput(); err != nil {
		return fmt.Errorf("mosquitto_pub: %v: %s", err, out)
	}
	out, err := exec.Command(sub, append(common, "-C", "1", "-W", "10")...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mosquitto_sub: %v: %s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "hi from cli" {
		return fmt.Errorf("mosquitto_sub got %q", got)
	}
	return nil
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func TestMosquitto(t *testing.T) {
	m := testenv.StartMosquitto(t)
	if !strings.HasPrefix(m.URL(), "tcp://127.0.0.1:") || m.URL() != "tcp://"+m.Addr() || !strings.HasPrefix(m.WSURL(), "ws://127.0.0.1:") {
		t.Fatalf("URL %q, Addr %q, WSURL %q", m.URL(), m.Addr(), m.WSURL())
	}
	t.Run("tcp", func(t *testing.T) { roundTrip(t, mqtt.NewClientOptions().AddBroker(m.URL())) })
	t.Run("websockets", func(t *testing.T) { roundTrip(t, mqtt.NewClientOptions().AddBroker(m.WSURL()+"/mqtt")) })
	t.Run("cli", func(t *testing.T) {
		if err := cliRoundTrip(t, portOf(t, m.Addr())); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("restart", func(t *testing.T) {
		m.Stop(t)
		if _, err := mqttConnect(t, mqtt.NewClientOptions().AddBroker(m.URL())); err == nil {
			t.Fatal("connected to a stopped broker")
		}
		m.Stop(t) // stopping twice is harmless
		m.Start(t)
		roundTrip(t, mqtt.NewClientOptions().AddBroker(m.URL()))
		roundTrip(t, mqtt.NewClientOptions().AddBroker(m.WSURL()))
	})
}

func TestMosquittoParallel(t *testing.T) {
	for i := range 6 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			m := testenv.StartMosquitto(t)
			roundTrip(t, mqtt.NewClientOptions().AddBroker(m.URL()))
		})
	}
}

func TestMosquittoStoppedAtTestEnd(t *testing.T) {
	var addr string
	t.Run("start", func(t *testing.T) { addr = testenv.StartMosquitto(t).Addr() })
	if addr == "" {
		t.Skip("broker did not start")
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("broker on %s still accepts connections after its test ended", addr)
	}
}

func TestMosquittoTLS(t *testing.T) {
	m := testenv.StartMosquittoTLS(t)
	if !strings.HasPrefix(m.URL(), "ssl://127.0.0.1:") || strings.Contains(m.URL(), "@") || !strings.HasPrefix(m.WSURL(), "wss://") {
		t.Fatalf("URL %q, WSURL %q", m.URL(), m.WSURL())
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(m.CAPEM) {
		t.Fatal("CAPEM holds no certificate")
	}
	tlsOpts := func(url, password string) *mqtt.ClientOptions {
		return mqtt.NewClientOptions().AddBroker(url).
			SetTLSConfig(&tls.Config{RootCAs: pool}).
			SetUsername(m.Username).SetPassword(password)
	}
	t.Run("paho", func(t *testing.T) { roundTrip(t, tlsOpts(m.URL(), m.Password)) })
	t.Run("paho-wss", func(t *testing.T) { roundTrip(t, tlsOpts(m.WSURL(), m.Password)) })
	t.Run("paho-wrong-password", func(t *testing.T) {
		if _, err := mqttConnect(t, tlsOpts(m.URL(), "wrong")); err == nil {
			t.Fatal("connected with a wrong password")
		}
	})
	t.Run("paho-untrusted", func(t *testing.T) {
		opts := tlsOpts(m.URL(), m.Password).SetTLSConfig(&tls.Config{RootCAs: x509.NewCertPool()})
		if _, err := mqttConnect(t, opts); err == nil {
			t.Fatal("connected without trusting the CA")
		}
	})
	port := portOf(t, m.Addr())
	t.Run("cli", func(t *testing.T) {
		if err := cliRoundTrip(t, port, "--cafile", m.CAFile, "-u", m.Username, "-P", m.Password); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("cli-anonymous", func(t *testing.T) {
		if err := cliRoundTrip(t, port, "--cafile", m.CAFile); err == nil {
			t.Fatal("anonymous client got through")
		}
	})
	t.Run("restart", func(t *testing.T) {
		m.Stop(t)
		m.Start(t)
		roundTrip(t, tlsOpts(m.URL(), m.Password))
	})
}

func TestMariaDBShared(t *testing.T) {
	dsn1, dsn2 := testenv.MariaDB(t), testenv.MariaDB(t)
	if dsn1 == dsn2 {
		t.Fatalf("two calls returned the same DSN %q", dsn1)
	}
	for _, dsn := range []string{dsn1, dsn2} {
		if !strings.HasPrefix(dsn, "mysql://sunoye:") || !strings.Contains(dsn, "@127.0.0.1:") {
			t.Fatalf("DSN %q is not mysql://USER:PASSWORD@127.0.0.1:PORT/DB", dsn)
		}
	}
	db1, db2 := testenv.SQL(t, dsn1), testenv.SQL(t, dsn2)
	testenv.Exec(t, dsn1, "CREATE TABLE msg (id INT PRIMARY KEY, body TEXT)")
	testenv.Exec(t, dsn1, "INSERT INTO msg VALUES (1, ?)", "héllo 🌞")
	var body string
	if err := db1.QueryRow("SELECT body FROM msg WHERE id = 1").Scan(&body); err != nil || body != "héllo 🌞" {
		t.Fatalf("read back %q, %v; want the emoji intact", body, err)
	}
	var n int
	if err := db2.QueryRow("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()").Scan(&n); err != nil || n != 0 {
		t.Fatalf("second database has %d tables (%v), want a fresh one", n, err)
	}
	rows, err := db1.Query("EXPLAIN SELECT body FROM msg WHERE id = 1")
	if err != nil {
		t.Fatalf("EXPLAIN: %v", err)
	}
	rows.Close()

	t.Run("parallel", func(t *testing.T) {
		for i := range 4 {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				var one int
				if err := testenv.SQL(t, testenv.MariaDB(t)).QueryRow("SELECT 1").Scan(&one); err != nil {
					t.Fatal(err)
				}
			})
		}
	})
}

func TestMariaDBPrivate(t *testing.T) {
	s := testenv.StartMariaDB(t)
	dsn := s.DSN()
	if !strings.HasSuffix(dsn, "/sunoye") {
		t.Fatalf("DSN %q does not name the database sunoye", dsn)
	}
	testenv.Exec(t, dsn, "CREATE TABLE room (id INT PRIMARY KEY)")
	testenv.Exec(t, dsn, "INSERT INTO room VALUES (42)")
	db := testenv.SQL(t, dsn)

	s.Stop(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err == nil {
		t.Fatal("ping succeeded on a stopped server")
	}
	s.Start(t)
	if s.DSN() != dsn {
		t.Fatalf("DSN changed across restart: %q, then %q", dsn, s.DSN())
	}
	var id int
	if err := db.QueryRow("SELECT id FROM room").Scan(&id); err != nil || id != 42 {
		t.Fatalf("after restart: id %d, %v; want 42", id, err)
	}
}

func TestMariaDBStoppedAtTestEnd(t *testing.T) {
	var dsn string
	t.Run("start", func(t *testing.T) { dsn = testenv.StartMariaDB(t).DSN() })
	if dsn == "" {
		t.Skip("server did not start")
	}
	addr := dsn[strings.LastIndex(dsn, "@")+1 : strings.LastIndex(dsn, "/")]
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("server on %s still accepts connections after its test ended", addr)
	}
}

func TestSessionBus(t *testing.T) {
	before := os.Getenv("DBUS_SESSION_BUS_ADDRESS")
	addr := testenv.SessionBus(t)
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != before {
		t.Error("SessionBus changed DBUS_SESSION_BUS_ADDRESS")
	}
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatalf("connecting to %s: %v", addr, err)
	}
	defer conn.Close()
	var names []string
	if err := conn.BusObject().Call("org.freedesktop.DBus.ListNames", 0).Store(&names); err != nil {
		t.Fatalf("ListNames: %v", err)
	}
	found := false
	for _, n := range names {
		found = found || n == "org.freedesktop.DBus"
	}
	if !found {
		t.Errorf("ListNames = %v, want org.freedesktop.DBus among them", names)
	}
	// The private bus must not start the machine's notification daemon.
	call := conn.Object("org.freedesktop.Notifications", "/org/freedesktop/Notifications").
		Call("org.freedesktop.Notifications.GetServerInformation", 0)
	var dbusErr dbus.Error
	if !errors.As(call.Err, &dbusErr) || dbusErr.Name != "org.freedesktop.DBus.Error.ServiceUnknown" {
		t.Errorf("calling an unowned name: %v; want ServiceUnknown (no activation)", call.Err)
	}
}

func TestXvfb(t *testing.T) {
	xdpyinfo := testenv.NeedBinary(t, "xdpyinfo", "x11-utils")
	d1, d2 := testenv.Xvfb(t), testenv.Xvfb(t)
	if d1 == d2 {
		t.Fatalf("two servers on the same display %s", d1)
	}
	for _, d := range []string{d1, d2} {
		out, err := exec.Command(xdpyinfo, "-display", d).CombinedOutput()
		if err != nil {
			t.Fatalf("xdpyinfo -display %s: %v\n%s", d, err, out)
		}
		if !bytes.Contains(out, []byte("1280x800 pixels")) || !bytes.Contains(out, []byte("depth of root window:    24 planes")) {
			t.Errorf("xdpyinfo -display %s does not show 1280x800x24:\n%s", d, out)
		}
	}
}

func TestXvfbStoppedAtTestEnd(t *testing.T) {
	var display string
	t.Run("start", func(t *testing.T) { display = testenv.Xvfb(t) })
	if display == "" {
		t.Skip("server did not start")
	}
	socket := "/tmp/.X11-unix/X" + display[1:]
	if c, err := net.DialTimeout("unix", socket, time.Second); err == nil {
		c.Close()
		t.Fatalf("X server %s still accepts connections after its test ended", display)
	}
}

func TestChromium(t *testing.T) {
	path, flags := testenv.Chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, append(flags, "--dump-dom", `data:text/html,<p id="x">hi there</p>`)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second // Chromium's helpers may hold the pipes a little longer
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s --dump-dom: %v\n%s", path, err, stderr.Bytes())
	}
	if !bytes.Contains(out, []byte(`<p id="x">hi there</p>`)) {
		t.Fatalf("--dump-dom printed %s\nstderr:\n%s", out, stderr.Bytes())
	}
}

// echoServer starts a TCP server that echoes what it reads.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func echo(c net.Conn, msg string, timeout time.Duration) error {
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, msg); err != nil {
		return err
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != msg {
		return fmt.Errorf("echoed %q, want %q", buf, msg)
	}
	return nil
}

func TestProxy(t *testing.T) {
	p := testenv.StartProxy(t, echoServer(t))
	if !strings.HasPrefix(p.Addr(), "127.0.0.1:") {
		t.Fatalf("Addr = %q", p.Addr())
	}
	c1, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	if err := echo(c1, "one", 5*time.Second); err != nil {
		t.Fatalf("before cut: %v", err)
	}

	p.Cut()
	c1.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c1.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("after Cut, the old connection read %d bytes, %v; want it closed", n, err)
	}
	c2, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatalf("dialing a cut proxy: %v (want the connection held, not refused)", err)
	}
	defer c2.Close()
	if err := echo(c2, "two", 300*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("while cut: %v; want no answer", err)
	}

	p.Heal()
	buf := make([]byte, 3)
	c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c2, buf); err != nil || string(buf) != "two" {
		t.Fatalf("held connection after Heal: %q, %v; want two", buf, err)
	}
	c3, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	if err := echo(c3, "three", 5*time.Second); err != nil {
		t.Fatalf("after Heal: %v", err)
	}
}

func TestProxyTargetDown(t *testing.T) {
	p := testenv.StartProxy(t, fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)))
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read %v; want the connection closed since the target is down", err)
	}
}
