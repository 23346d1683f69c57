package tray_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/roomstest"
	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/mqttx"
	"github.com/sunoye/sunoye/rooms"
)

// wait is how long any one thing may take to show: the machine is small
// and busy.
const wait = 30 * time.Second

// newLogger returns a logger into a buffer that the test reads, and shows
// it with -v or on failure.
func newLogger(t *testing.T) (*slog.Logger, *testenv.LogBuffer) {
	log, lb := testenv.NewLogger()
	t.Cleanup(func() { t.Logf("tray log:\n%s", lb.String()) })
	return log, lb
}

// broker is an embedded MQTT broker that can be stopped and started again
// on the same address, as a real one restarts.
type broker struct {
	t    *testing.T
	addr string
	b    *mqttx.Broker
}

func startBroker(t *testing.T, addr string) *broker {
	t.Helper()
	b, err := mqttx.NewBroker(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(b.URL())
	if err != nil {
		t.Fatal(err)
	}
	br := &broker{t: t, addr: u.Host, b: b}
	t.Cleanup(func() { br.b.Close() }) // whichever runs by then
	return br
}

func (br *broker) url() string { return "tcp://" + br.addr }
func (br *broker) stop()       { br.b.Close() }

// restart starts the broker again on its address; it lives as long as
// the test that started it first.
func (br *broker) restart() {
	br.t.Helper()
	b, err := mqttx.NewBroker(br.addr, nil)
	if err != nil {
		br.t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		br.t.Fatal(err)
	}
	br.b = b
}

// newService wires a Service to the broker and a SQLite registry, as the
// daemon does. Its transport reconnects quickly, so that a restarted
// broker is noticed within the test's patience.
func newService(t *testing.T, name, brokerURL, dsn string) *rooms.Service {
	t.Helper()
	return roomstest.NewService(t, roomstest.Config{Name: name, Broker: brokerURL, DB: dsn,
		Transport: mqttx.Config{MaxReconnectInterval: 500 * time.Millisecond, ConnectTimeout: 2 * time.Second}})
}

// opener records which windows the tray asked for.
type opener struct{ calls chan string }

func (o *opener) OpenRoom(id rooms.ID) error  { o.calls <- "room " + string(id); return nil }
func (o *opener) OpenCreate() error           { o.calls <- "create"; return nil }
func (o *opener) OpenJoin() error             { o.calls <- "join"; return nil }
func (o *opener) OpenSettings() error         { o.calls <- "settings"; return nil }
func (o *opener) OpenLeave(id rooms.ID) error { o.calls <- "leave " + string(id); return nil }

func (o *opener) next(t *testing.T) string {
	t.Helper()
	select {
	case c := <-o.calls:
		return c
	case <-time.After(wait):
		t.Fatal("the tray opened no window")
		return ""
	}
}

// eventually polls cond until it holds, and fails the test with what
// describes the last state if it does not within wait.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s; last: %s", wait, what, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readClipboard returns the X clipboard's text.
func readClipboard(display string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "xclip", "-o", "-selection", "clipboard")
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	out, _ := cmd.Output()
	return string(out)
}

// Where gtk-sni-tray-standalone draws the menu of the icon at the left
// end of its bar, and the submenu of the menu's third entry (the room).
var (
	menuArea    = image.Rect(0, 34, 300, 190)
	submenuArea = image.Rect(330, 90, 500, 200)
)

// openSubmenu clicks the icon and points at the room until the room's
// submenu shows, and returns that screen. A person who finds a menu empty
// or closed opens it again, and so does this: a tray host that has just
// started may redraw the menu under the pointer, and GTK ignores the
// pointer while a menu settles.
func openSubmenu(t *testing.T, xdotool, display string) image.Image {
	t.Helper()
	xdo := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(xdotool, args...).CombinedOutput(); err != nil {
			t.Fatalf("xdotool %v: %v: %s", args, err, out)
		}
	}
	deadline := time.Now().Add(wait)
	for {
		xdo("mousemove", "16", "16", "click", "1")
		for i, end := 0, time.Now().Add(2500*time.Millisecond); time.Now().Before(end); i++ {
			img := testenv.Screenshot(t, display, "tray-menu")
			if testenv.Colors(img, submenuArea) > 20 {
				return img
			}
			if testenv.Colors(img, menuArea) > 20 {
				xdo("mousemove", fmt.Sprint(150+20*(i%2)), "99") // a small move each time
			}
			time.Sleep(200 * time.Millisecond)
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for the room's submenu on the screen", wait)
		}
		xdo("key", "Escape")
	}
}

// waitScreen takes screenshots until cond holds for one, and fails the
// test if none does within wait. With SUNOYE_SCREENSHOT_DIR set, the last
// one is kept there as name.png.
func waitScreen(t *testing.T, display, name, what string, cond func(image.Image) bool) image.Image {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		img := testenv.Screenshot(t, display, name)
		if cond(img) {
			return img
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s on the screen", wait, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// saveCrop keeps the part r of img as SUNOYE_SCREENSHOT_DIR/name.png, for
// the README, when that is set.
func saveCrop(t *testing.T, img image.Image, r image.Rectangle, name string) {
	t.Helper()
	dir := os.Getenv("SUNOYE_SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	crop := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	draw.Draw(crop, crop.Bounds(), img, r.Min, draw.Src)
	var buf bytes.Buffer
	if err := png.Encode(&buf, crop); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), buf.Bytes(), 0o644); err != nil {
		t.Error(err)
	}
}

// countNear counts the pixels in r within tol (per channel) of c.
func countNear(img image.Image, r image.Rectangle, c color.RGBA, tol int) int {
	near := func(a uint32, b uint8) bool { d := int(a>>8) - int(b); return d >= -tol && d <= tol }
	n := 0
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			pr, pg, pb, _ := img.At(x, y).RGBA()
			if near(pr, c.R) && near(pg, c.G) && near(pb, c.B) {
				n++
			}
		}
	}
	return n
}

func samePixmaps(a, b []testenv.Pixmap) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].W != b[i].W || a[i].H != b[i].H || !bytes.Equal(a[i].ARGB, b[i].ARGB) {
			return false
		}
	}
	return true
}
