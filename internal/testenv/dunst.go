package testenv

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"
)

// dunstConfig is the configuration of a test's dunst: the one setting
// that matters is markup = full, which dunst's own default configuration
// sets and under which it advertises "body-markup", so that clients must
// escape message text.
const dunstConfig = `[global]
    markup = full
    font = Monospace 10
    idle_threshold = 0
`

// Dunst is a running dunst, a real notification server. Its methods drive
// it the way dunstctl does, over D-Bus, with every call bounded.
type Dunst struct {
	conn *dbus.Conn
}

// StartDunst starts dunst on the bus at busAddr (see [SessionBus]),
// drawing its popups on the X display (see [Xvfb]), and returns once it
// owns org.freedesktop.Notifications. It is stopped when the test ends.
func StartDunst(t testing.TB, busAddr, display string) *Dunst {
	t.Helper()
	bin := NeedBinary(t, "dunst", "dunst")
	dir := t.TempDir()
	conf := filepath.Join(dir, "dunstrc")
	if err := os.WriteFile(conf, []byte(dunstConfig), 0o600); err != nil {
		t.Fatalf("testenv: writing dunstrc: %v", err)
	}
	cmd := exec.Command(bin, "-conf", conf)
	cmd.Env = append(envWithout("DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "XDG_CONFIG_HOME", "NO_AT_BRIDGE"),
		"DISPLAY="+display, "DBUS_SESSION_BUS_ADDRESS="+busAddr,
		"XDG_CONFIG_HOME="+dir, // no user configuration
		"NO_AT_BRIDGE=1")       // no accessibility bus to look for
	p, err := startProcess("dunst", filepath.Join(dir, "dunst.log"), cmd)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(p.stop)

	conn, err := dbusConnect(busAddr)
	if err != nil {
		t.Fatalf("testenv: dunst: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	owned := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), dbusCallTimeout)
		defer cancel()
		var has bool
		if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, notificationsName).Store(&has); err != nil {
			return err
		}
		if !has {
			return errors.New(notificationsName + " has no owner yet")
		}
		return nil
	}
	if err := p.waitReady(readyTimeout, owned); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return &Dunst{conn: conn}
}

// envWithout returns the environment without the named variables.
func envWithout(names ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(names, name) {
			env = append(env, kv)
		}
	}
	return env
}

// dunstIface is dunst's own control interface, which dunstctl uses.
const dunstIface = "org.dunstproject.cmd0"

// Displayed returns how many notifications dunst shows right now
// (`dunstctl count displayed`).
func (d *Dunst) Displayed(t testing.TB) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), dbusCallTimeout)
	defer cancel()
	var v dbus.Variant
	err := d.conn.Object(notificationsName, notificationsPath).CallWithContext(ctx,
		"org.freedesktop.DBus.Properties.Get", 0, dunstIface, "displayedLength").Store(&v)
	if err != nil {
		t.Fatalf("testenv: dunst displayedLength: %v", err)
	}
	n, ok := v.Value().(uint32)
	if !ok {
		t.Fatalf("testenv: dunst displayedLength is a %T", v.Value())
	}
	return int(n)
}

// Action performs the default action of the notification at position n,
// 0 being the newest (`dunstctl action n`): what a click on it does.
func (d *Dunst) Action(t testing.TB, n uint32) {
	t.Helper()
	d.call(t, "NotificationAction", n)
}

// CloseAll closes every notification (`dunstctl close-all`).
func (d *Dunst) CloseAll(t testing.TB) {
	t.Helper()
	d.call(t, "NotificationCloseAll")
}

func (d *Dunst) call(t testing.TB, method string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), dbusCallTimeout)
	defer cancel()
	if err := d.conn.Object(notificationsName, notificationsPath).CallWithContext(ctx, dunstIface+"."+method, 0, args...).Err; err != nil {
		t.Fatalf("testenv: dunst %s: %v", method, err)
	}
}
