//go:build debpackages

// Package packaging holds the scripts that build SunOye's release
// packages (make dist) and, here, the test of what they install.
package packaging

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/web"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// debsEnv names the packages to test, separated by spaces (.ci/package-test
// sets it to what make dist built). The test installs them into this
// machine, so it runs only when asked, as root.
const debsEnv = "SUNOYE_DEBS"

// The paths every package must install.
var wantPaths = []string{
	"/usr/bin/sunoye",
	"/usr/libexec/sunoye/sunoye-window",
	"/usr/libexec/sunoye/sunoye-strength",
	"/usr/share/applications/sunoye.desktop",
	"/usr/lib/systemd/user/sunoye.service",
	"/usr/share/icons/hicolor/scalable/apps/sunoye.svg",
	"/usr/share/icons/hicolor/48x48/apps/sunoye.png",
	"/usr/share/man/man1/sunoye.1.gz",
	"/usr/share/man/man1/sunoye-up.1.gz",
	"/usr/share/bash-completion/completions/sunoye",
	"/usr/share/zsh/vendor-completions/_sunoye",
	"/usr/share/fish/vendor_completions.d/sunoye.fish",
	"/usr/share/doc/sunoye/copyright",
}

// debName is make dist's file name: sunoye_VERSION+webkitNN-1_amd64.deb.
var debName = regexp.MustCompile(`^sunoye_(.+)\+webkit4([01])-1_amd64\.deb$`)

// TestDebPackages (build tag debpackages: it changes the machine's
// packages, so make test leaves it to .ci/package-test) installs each package as a user would (apt-get install
// ./FILE), and checks what a user would: sunoye version and doctor, a
// chat between two headless daemons of the installed sunoye (a message
// each way, read with tail --json), a chat window of the installed
// sunoye-window; then purges it and checks that nothing it installed is
// left. Before installing: dpkg-deb's view and lintian.
func TestDebPackages(t *testing.T) {
	debs := strings.Fields(os.Getenv(debsEnv))
	if len(debs) == 0 {
		t.Fatalf("%s is not set: .ci/package-test runs this (as root, after make dist)", debsEnv)
	}
	if os.Geteuid() != 0 {
		t.Fatalf("%s is set: installing packages needs root", debsEnv)
	}
	for _, deb := range debs {
		if !filepath.IsAbs(deb) {
			t.Fatalf("%s: %q is not an absolute path (go test runs in the package's directory)", debsEnv, deb)
		}
	}
	for _, deb := range debs {
		t.Run(filepath.Base(deb), func(t *testing.T) { testDeb(t, deb) })
	}
}

func testDeb(t *testing.T, deb string) {
	m := debName.FindStringSubmatch(filepath.Base(deb))
	if m == nil {
		t.Fatalf("%s: not a name make dist gives", deb)
	}
	version, webkit := m[1], "4."+m[2]
	if _, err := exec.Command("dpkg-query", "-W", "sunoye").Output(); err == nil {
		t.Fatal("sunoye is installed already: this test must install it itself")
	}

	// What dpkg-deb sees.
	info := run(t, "dpkg-deb", "--info", deb)
	for _, want := range []string{"Package: sunoye", "Version: " + version + "+webkit4" + m[2] + "-1",
		"libwebkit2gtk-" + webkit, "libgtk-3-0", "libc6"} {
		if !strings.Contains(info, want) {
			t.Errorf("dpkg-deb --info: no %q in\n%s", want, info)
		}
	}
	paths := debPaths(t, deb)
	for _, p := range wantPaths {
		if !paths[p] {
			t.Errorf("the package does not install %s", p)
		}
	}
	start := time.Now()
	out, err := exec.Command(testenv.NeedBinary(t, "lintian", "lintian"), "--fail-on", "error,warning", deb).CombinedOutput()
	if err != nil {
		t.Errorf("lintian: %v\n%s", err, out)
	}
	t.Logf("lintian: %v", time.Since(start).Round(time.Second))
	if t.Failed() {
		return
	}

	// What exists before, to tell what the purge must remove.
	existed := map[string]bool{}
	for p := range paths {
		if _, err := os.Lstat(p); err == nil {
			existed[p] = true
		}
	}
	start = time.Now()
	apt(t, "install", deb)
	t.Logf("apt-get install: %v", time.Since(start).Round(time.Second))
	purged := false
	t.Cleanup(func() {
		if !purged {
			apt(t, "purge", "sunoye")
		}
	})
	listed := strings.Fields(run(t, "dpkg", "-L", "sunoye"))

	const sunoye = "/usr/bin/sunoye"
	if got := strings.TrimSpace(run(t, sunoye, "version")); got != "sunoye "+version {
		t.Errorf("sunoye version: %q, want %q", got, "sunoye "+version)
	}
	start = time.Now()
	chat(t, sunoye)
	t.Logf("two daemons, doctor, a chat, a window: %v", time.Since(start).Round(time.Second))

	start = time.Now()
	apt(t, "purge", "sunoye")
	purged = true
	t.Logf("apt-get purge: %v", time.Since(start).Round(time.Second))
	if out, err := exec.Command("dpkg-query", "-W", "-f", "${Status}", "sunoye").CombinedOutput(); err == nil {
		t.Errorf("after purge dpkg still knows sunoye: %s", out)
	}
	for _, p := range listed {
		if _, err := os.Lstat(p); err == nil && !existed[p] {
			t.Errorf("left after purge: %s", p)
		}
	}
}

// chat runs two daemons of the installed sunoye (the first with the
// embedded broker, the registry a shared SQLite file), checks doctor,
// a message each way, and a chat window.
func chat(t *testing.T, sunoye string) {
	display := testenv.Xvfb(t)
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	db := "sqlite://" + filepath.Join(t.TempDir(), "registry.db")
	asha := testenv.StartDaemon(t, testenv.DaemonConfig{Bin: sunoye, Broker: "embedded://" + addr, DB: db, Name: "Asha",
		Env: []string{"DISPLAY=" + display, "NO_AT_BRIDGE=1"}})
	bilal := testenv.StartDaemon(t, testenv.DaemonConfig{Bin: sunoye, Broker: "tcp://" + addr, DB: db, Name: "Bilal"})

	// doctor: the broker and the registry usable, the installed window
	// found where the package put it.
	r := asha.RunEnv(t, []string{"DISPLAY=" + display}, "", "doctor", "--broker", "embedded://"+addr, "--db", db)
	for _, want := range []string{`ok +broker +embedded, run by the daemon`, `ok +registry +sqlite:///`,
		`ok +chat windows +/usr/libexec/sunoye/sunoye-window on display`} {
		if r.Code != 0 || !regexp.MustCompile(`(?m)^`+want).MatchString(r.Stdout) {
			t.Fatalf("sunoye doctor: exit %d, no line %q\n%s%s", r.Code, want, r.Stdout, r.Stderr)
		}
	}

	r = must(t, asha, "create", "--json")
	var inv struct{ Room, Password string }
	if err := json.Unmarshal([]byte(r.Stdout), &inv); err != nil || inv.Room == "" {
		t.Fatalf("create --json: %v: %q", err, r.Stdout)
	}
	mustEnv(t, bilal, []string{"SUNOYE_PASSWORD=" + inv.Password}, "join", inv.Room)
	must(t, asha, "send", inv.Room, "hello from Asha")
	must(t, bilal, "send", inv.Room, "hello from Bilal")
	tailUntil(t, bilal, inv.Room, "hello from Asha")
	tailUntil(t, asha, inv.Room, "hello from Bilal")

	// A chat window: the installed sunoye-window, showing on the display.
	must(t, asha, "open", inv.Room)
	xdotool := testenv.NeedBinary(t, "xdotool", "xdotool")
	var pid string
	// WebKit maps its first window slowly on a loaded machine (over a
	// minute seen at a load of 20 on 2 cores).
	testenv.Eventually(t, 2*time.Minute, func() error {
		cmd := exec.Command(xdotool, "search", "--name", "room "+inv.Room, "getwindowpid")
		cmd.Env = append(os.Environ(), "DISPLAY="+display)
		out, err := cmd.Output()
		if f := strings.Fields(string(out)); err == nil && len(f) == 1 {
			pid = f[0]
			return nil
		}
		return fmt.Errorf("no window for room %s (%v, %q)\n%s", inv.Room, err, out, asha.Log())
	})
	if exe, err := os.Readlink("/proc/" + pid + "/exe"); err != nil || exe != "/usr/libexec/sunoye/sunoye-window" {
		t.Errorf("the room's window is %q (%v), want the installed /usr/libexec/sunoye/sunoye-window", exe, err)
	}
	bilal.Stop(t)
	asha.Stop(t)
}

// tailUntil follows the room with `sunoye tail --json` until a message
// from another member with this text shows.
func tailUntil(t *testing.T, d *testenv.Daemon, room, text string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.Bin(), "--state-dir", d.StateDir, "tail", "--json", room)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cancel()
	var seen []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var m web.MessageJSON
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("tail --json printed %q: %v", sc.Text(), err)
		}
		if m.Text == text && !m.Own && m.Room == room {
			return
		}
		seen = append(seen, sc.Text())
	}
	t.Fatalf("tail --json %s: no %q from another member (%v); it printed\n%s\n%s", room, text, ctx.Err(),
		strings.Join(seen, "\n"), stderr.String())
}

// debPaths lists the paths the package installs, directories included.
func debPaths(t *testing.T, deb string) map[string]bool {
	t.Helper()
	paths := map[string]bool{}
	for _, line := range strings.Split(run(t, "dpkg-deb", "--contents", deb), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		p := strings.TrimSuffix(strings.TrimPrefix(f[5], "."), "/")
		if p != "" {
			paths[p] = true
		}
	}
	return paths
}

func apt(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("apt-get", append([]string{"-y", "-q", "-o", "DPkg::Lock::Timeout=300"}, args...)...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("apt-get %v: %v\n%s", args, err, out)
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("%s %v: %v\n%s%s", name, args, err, out, stderr)
	}
	return string(out)
}

func must(t *testing.T, d *testenv.Daemon, args ...string) testenv.Result {
	t.Helper()
	return mustEnv(t, d, nil, args...)
}

func mustEnv(t *testing.T, d *testenv.Daemon, env []string, args ...string) testenv.Result {
	t.Helper()
	r := d.RunEnv(t, env, "", args...)
	if r.Code != 0 {
		t.Fatalf("sunoye %v: exit %d\n%s%s", args, r.Code, r.Stdout, r.Stderr)
	}
	return r
}
