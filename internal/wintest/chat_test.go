package wintest

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sunoye/sunoye/db"
	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/web"
)

// within scales the waits for Wine, which starts each Windows program in
// about a second on an idle machine and many more on a busy one.
const within = 3 * time.Minute

// A Windows daemon (sunoye.exe up --headless, under Wine) and a Linux
// daemon chat through a Linux mosquitto, sharing a SQLite registry: the
// Windows CLI creates the room and reaches its daemon over the named pipe,
// the Linux daemon joins with the invite, a message goes each way, and the
// Windows `tail --json` shows the Linux message.
func TestChatWithWindowsDaemon(t *testing.T) {
	w := testenv.StartWine(t)
	t.Logf("Wine prefix made in %v", w.Took.Round(time.Millisecond))
	bin, took := testenv.SunoyeWindows(t)
	t.Logf("Windows build (make windows) took %v", took.Round(time.Millisecond))
	broker := testenv.StartMosquitto(t)
	registry := filepath.Join(t.TempDir(), "registry.db")

	start := time.Now()
	win := testenv.StartWineDaemon(t, w, bin, testenv.DaemonConfig{
		Broker: broker.URL(), DB: "sqlite:///Z:" + registry, Name: "Winnie", // Wine's Z: is /
	})
	t.Logf("Windows daemon answered its CLI after %v", time.Since(start).Round(time.Millisecond))
	if sock, err := os.ReadFile(filepath.Join(win.StateDir, "sunoye.sock")); err != nil || !strings.HasPrefix(string(sock), `\\.\pipe\sunoye-`) {
		t.Errorf("the Windows daemon's address file: %q, %v; want a named pipe's name", sock, err)
	}

	var invite web.InviteJSON
	if err := json.Unmarshal([]byte(win.CLI(t, "create", "--json")), &invite); err != nil || invite.Room == "" || invite.Link == "" {
		t.Fatalf("create --json on Windows: %+v, %v", invite, err)
	}

	lin := testenv.StartDaemon(t, testenv.DaemonConfig{Broker: broker.URL(), DB: db.SQLiteDSN(registry), Name: "Linus"})
	if r := lin.RunStdin(t, invite.Link, "join", "-"); r.Code != 0 {
		t.Fatalf("the Linux daemon joins: %+v", r)
	}

	// Windows follows the room from before the Linux message is sent.
	ctx, cancel := context.WithTimeout(t.Context(), within)
	defer cancel()
	tail := w.Command(ctx, filepath.Join(bin, "sunoye.exe"), "tail", "--json", invite.Room, "--state-dir", w.Path(win.StateDir))
	out, err := tail.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := tail.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		tail.Process.Kill()
		tail.Wait()
	}()
	lines := make(chan web.MessageJSON)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var m web.MessageJSON
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				lines <- m
			}
		}
		close(lines)
	}()

	// Linux to Windows, sent until the Windows tail is surely following
	// (it may still be starting under Wine): each try is a new message.
	const fromLinux = "hello from Linux"
	got := false
	for deadline := time.Now().Add(within); !got; {
		if r := lin.Run(t, "send", invite.Room, fromLinux); r.Code != 0 {
			t.Fatalf("send from Linux: %+v", r)
		}
		wait := time.After(10 * time.Second)
	read:
		for {
			select {
			case m, ok := <-lines:
				if !ok {
					t.Fatalf("the Windows tail ended: %v", tail.Wait())
				}
				if m.Text == fromLinux && m.From == "Linus" && !m.Own {
					got = true
					break read
				}
			case <-wait:
				break read
			}
		}
		if !got && time.Now().After(deadline) {
			t.Fatalf("the Windows tail --json did not show the Linux message within %v", within)
		}
	}

	// Windows to Linux.
	const fromWindows = "hello from Windows"
	win.CLI(t, "send", invite.Room, fromWindows)
	for deadline := time.Now().Add(within); ; time.Sleep(200 * time.Millisecond) {
		hist, err := lin.Client().History(t.Context(), invite.Room)
		if err == nil && hasMessage(hist, fromWindows, "Winnie") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Linux daemon did not get the Windows message within %v: %+v, %v", within, hist, err)
		}
	}
}

func hasMessage(ms []web.MessageJSON, text, from string) bool {
	for _, m := range ms {
		if m.Text == text && m.From == from {
			return true
		}
	}
	return false
}
