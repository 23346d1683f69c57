package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/roomstest"
	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
	"github.com/sunoye/sunoye/web"
)

func TestMain(m *testing.M) {
	// Re-executed as another user by TestSocketRefusesOtherUsers.
	if sock := os.Getenv("SUNOYE_TEST_DIAL"); sock != "" {
		os.Exit(dialAsOtherUser(sock))
	}
	testenv.Main(m)
}

// newService wires a Service to a broker and registry, the way the daemon
// does, for API tests.
func newService(t *testing.T, name string, broker string, dsn string) *rooms.Service {
	t.Helper()
	return roomstest.NewService(t, roomstest.Config{Name: name, Broker: broker, DB: dsn})
}

func newBroker(t *testing.T) string { return roomstest.StartBroker(t) }

// serve starts the API of svc on a unix socket and returns a client.
func serve(t *testing.T, svc *rooms.Service) (*web.Client, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "api")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "sunoye.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		api := web.NewServer(svc, web.Info{Version: "test"}, testenv.TestLogger(t))
		api.SetEstimator(estimate)
		done <- api.ServeUnix(ctx, sock)
	}()
	t.Cleanup(func() { cancel(); <-done })
	c := web.NewClient(sock)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := c.Status(t.Context()); err == nil {
			return c, sock
		} else if time.Now().After(deadline) {
			t.Fatalf("API not up: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The API answers each failure with its own code, which the CLI turns
// into exit codes.
func TestErrorCodes(t *testing.T) {
	broker, dsn := newBroker(t), "sqlite://"+filepath.Join(t.TempDir(), "r.db")
	c, sock := serve(t, newService(t, "Asha", broker, dsn))
	inv, err := c.Create(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := serve(t, newService(t, "Bilal", broker, dsn))

	code := func(err error) string {
		var api *web.APIError
		if !errors.As(err, &api) {
			return fmt.Sprintf("not an API error: %v", err)
		}
		return api.Code
	}
	_, err = other.Join(t.Context(), inv.Room, "wrong password")
	if got := code(err); got != web.CodeWrongPass {
		t.Errorf("wrong password: %s", got)
	}
	_, err = other.Join(t.Context(), "123456789", "whatever")
	if got := code(err); got != web.CodeNoSuchRoom {
		t.Errorf("unknown room: %s", got)
	}
	_, err = other.Join(t.Context(), "12345", "whatever")
	if got := code(err); got != web.CodeBadRequest {
		t.Errorf("bad room number: %s", got)
	}
	_, err = other.Send(t.Context(), inv.Room, "hi")
	if got := code(err); got != web.CodeNotJoined {
		t.Errorf("send without joining: %s", got)
	}
	_, err = c.Send(t.Context(), inv.Room, strings.Repeat("x", rooms.MaxTextBytes+1))
	if got := code(err); got != web.CodeBadRequest {
		t.Errorf("too long: %s", got)
	}
	_, err = c.Create(t.Context(), "short")
	if got := code(err); got != web.CodeBadRequest {
		t.Errorf("short password: %s", got)
	}
	// A password easy to guess is refused with the reason, unless the
	// request insists.
	_, err = c.Create(t.Context(), "password123")
	if got := code(err); got != web.CodeWeakPassword || !strings.Contains(err.Error(), "a common password") {
		t.Errorf("guessable password: %s: %v", got, err)
	}
	_, err = c.CreateWith(t.Context(), web.CreateRequest{Password: "short", WeakPassword: true})
	if got := code(err); got != web.CodeBadRequest {
		t.Errorf("short password, insisting: %s", got)
	}
	if weak, err := c.CreateWith(t.Context(), web.CreateRequest{Password: "password123", WeakPassword: true}); err != nil || weak.Password != "password123" {
		t.Errorf("guessable password, insisting: %+v, %v", weak, err)
	}
	if strong, err := c.Create(t.Context(), "correct horse battery staple glacier"); err != nil || strong.Password != "correct horse battery staple glacier" {
		t.Errorf("strong chosen password: %+v, %v", strong, err)
	}

	// Raw requests: oversized and malformed bodies are refused, not read
	// without bound.
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	for name, body := range map[string]string{
		"oversized":  `{"text":"` + strings.Repeat("a", 1<<20) + `"}`,
		"malformed":  `{"text":`,
		"two values": `{"text":"a"}{"text":"b"}`,
		"wrong type": `{"text":42}`,
	} {
		resp, err := hc.Post("http://sunoye/v1/rooms/"+inv.Room+"/messages", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var e web.ErrorJSON
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || e.Code != web.CodeBadRequest {
			t.Errorf("%s body: %d %+v", name, resp.StatusCode, e)
		}
	}
	if h, _ := c.History(t.Context(), inv.Room); len(h) != 0 {
		t.Errorf("refused requests left messages: %+v", h)
	}
}

func TestDecodeRequest(t *testing.T) {
	var v web.SendRequest
	for _, ok := range []string{``, `{}`, `{"text":"a"}`, ` {"text":"a"} `, `{"text":"a","extra":1}`} {
		if err := web.DecodeRequest(strings.NewReader(ok), &v); err != nil {
			t.Errorf("web.DecodeRequest(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{`{`, `[]`, `{"text":1}`, `{"text":"a"} x`, `{"text":"a"}{}`, "\xff"} {
		if err := web.DecodeRequest(strings.NewReader(bad), &v); err == nil {
			t.Errorf("web.DecodeRequest(%q) accepted", bad)
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{`{"text":"hi"}`, `{"password":"x"}`, `{"on":true}`, `{`, `null`, "\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var a web.SendRequest
		var j web.JoinRequest
		var o web.ToggleRequest
		for _, v := range []any{&a, &j, &o} {
			if err := web.DecodeRequest(bytes.NewReader(b), v); err == nil {
				// What was accepted must be one JSON value, re-encodable.
				if _, err := json.Marshal(v); err != nil {
					t.Fatalf("accepted %q into an unencodable %T", b, v)
				}
			}
		}
	})
}

// The socket is the user's alone: mode 0600, and even with the mode
// loosened, a connection from another uid is closed unanswered.
func TestSocketRefusesOtherUsers(t *testing.T) {
	_, sock := serve(t, newService(t, "Asha", newBroker(t), "sqlite://"+filepath.Join(t.TempDir(), "r.db")))
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want 0600", fi.Mode().Perm())
	}
	if os.Getuid() != 0 {
		// Only root can start a process as another user; the mode check
		// above is what protects an ordinary user's socket.
		t.Log("not root: the peer-uid check is not exercised")
		return
	}
	// Open the door as wide as possible: only the peer-uid check is left.
	os.Chmod(filepath.Dir(sock), 0o755)
	os.Chmod(sock, 0o666)
	// The test binary sits in a directory only we can enter: copy it
	// where the other user may run it.
	self, _ := os.Executable()
	bin := filepath.Join(filepath.Dir(sock), "web.test")
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), "SUNOYE_TEST_DIAL="+sock)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("another user's request: %v, output %q; want it refused (exit 3)", err, out)
	}
}

// dialAsOtherUser is the body of the re-executed test binary: exit 0 if
// the API answered, 3 if the connection was refused or closed, 1 if the
// dial itself failed (the mode kept us out, which the test does not want
// here, since it loosened the mode on purpose).
func dialAsOtherUser(sock string) int {
	conn, err := net.Dial("unix", sock)
	if err != nil {
		fmt.Println("dial:", err)
		return 1
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(conn, "GET /v1/status HTTP/1.1\r\nHost: sunoye\r\nConnection: close\r\n\r\n")
	b, err := io.ReadAll(conn)
	if len(b) > 0 {
		fmt.Printf("answered: %q\n", b)
		return 0
	}
	fmt.Println("no answer:", err)
	return 3
}
