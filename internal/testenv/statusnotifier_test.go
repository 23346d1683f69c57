package testenv_test

import (
	"context"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"

	"github.com/sunoye/sunoye/internal/testenv"
)

// fakeLayout is the (ia{sv}av) of a dbusmenu entry.
type fakeLayout struct {
	ID       int32
	Props    map[string]dbus.Variant
	Children []dbus.Variant
}

// fakeMenu is a small com.canonical.dbusmenu menu that records clicks.
type fakeMenu struct {
	root    fakeLayout
	clicked chan int32
}

func (m *fakeMenu) GetLayout(parent, depth int32, props []string) (uint32, fakeLayout, *dbus.Error) {
	return 7, m.root, nil
}

func (m *fakeMenu) Event(id int32, event string, data dbus.Variant, ts uint32) *dbus.Error {
	if event == "clicked" {
		m.clicked <- id
	}
	return nil
}

func entry(id int32, props map[string]any, children ...fakeLayout) fakeLayout {
	l := fakeLayout{ID: id, Props: map[string]dbus.Variant{}, Children: []dbus.Variant{}}
	for k, v := range props {
		l.Props[k] = dbus.MakeVariant(v)
	}
	for _, c := range children {
		l.Children = append(l.Children, dbus.MakeVariant(c))
	}
	return l
}

// An application registers with the stand-in watcher, and the helpers
// read its icon, tooltip and menu, and click the menu, as a panel does.
func TestStatusNotifierHelpers(t *testing.T) {
	bus := testenv.SessionBus(t)
	w := testenv.StatusNotifierWatcher(t, bus)

	app, err := dbus.Connect(bus)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	tip := struct {
		V0 string
		V1 []testenv.Pixmap
		V2 string
		V3 string
	}{V2: "SunOye — 1 unread in 482913057"}
	icon := []testenv.Pixmap{{W: 1, H: 1, ARGB: []byte{255, 1, 2, 3}}}
	if _, err := prop.Export(app, "/StatusNotifierItem", map[string]map[string]*prop.Prop{
		"org.kde.StatusNotifierItem": {
			"Menu":       {Value: dbus.ObjectPath("/Menu")},
			"ToolTip":    {Value: tip},
			"IconPixmap": {Value: icon},
		},
	}); err != nil {
		t.Fatal(err)
	}
	menu := &fakeMenu{clicked: make(chan int32, 1), root: entry(0, nil,
		entry(1, map[string]any{"label": "Create room…"}),
		entry(2, map[string]any{"type": "separator"}),
		entry(3, map[string]any{"label": "gone", "visible": false}),
		entry(4, map[string]any{"label": "482913057 — 2 members"},
			entry(5, map[string]any{"label": "Copy invite", "enabled": false}),
			entry(6, map[string]any{"label": "Mute", "toggle-type": "checkmark", "toggle-state": int32(1)}),
		),
		entry(8, map[string]any{"label": "Quit"}),
	)}
	if err := app.Export(menu, "/Menu", "com.canonical.dbusmenu"); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := app.Object("org.kde.StatusNotifierWatcher", "/StatusNotifierWatcher").CallWithContext(ctx,
		"org.kde.StatusNotifierWatcher.RegisterStatusNotifierItem", 0, "/StatusNotifierItem").Err; err != nil {
		t.Fatalf("register: %v", err)
	}
	var id string
	select {
	case id = <-w.Registered:
	case <-ctx.Done():
		t.Fatal("the watcher recorded no registration")
	}
	if want := app.Names()[0] + "/StatusNotifierItem"; id != want {
		t.Errorf("registered %q, want %q", id, want)
	}
	var hosted dbus.Variant
	if err := app.Object("org.kde.StatusNotifierWatcher", "/StatusNotifierWatcher").CallWithContext(ctx,
		"org.freedesktop.DBus.Properties.Get", 0, "org.kde.StatusNotifierWatcher", "IsStatusNotifierHostRegistered").Store(&hosted); err != nil || hosted.Value() != true {
		t.Errorf("IsStatusNotifierHostRegistered = %v, %v; want true", hosted, err)
	}

	item := testenv.NewTrayItem(t, bus, id)
	if got := item.ToolTip(t); got != tip.V2 {
		t.Errorf("ToolTip = %q, want %q", got, tip.V2)
	}
	if got := item.IconPixmap(t); len(got) != 1 || got[0].W != 1 || string(got[0].ARGB) != string(icon[0].ARGB) {
		t.Errorf("IconPixmap = %v, want %v", got, icon)
	}
	m := item.Menu(t)
	mute := m.Find(t, "482913057", "Mute")
	if mute.ID != 6 || !mute.Checkmark || !mute.Checked {
		t.Errorf("Mute = %+v, want entry 6, a ticked checkbox", mute)
	}
	if got := m.Layout(t).Find("gone"); got != nil {
		t.Errorf("a hidden entry was found: %+v", got)
	}
	const want = "Create room…\n" +
		"────────────\n" +
		"482913057 — 2 members  ›\n" +
		"    Copy invite  (disabled)\n" +
		"    [x] Mute\n" +
		"Quit\n"
	if got := m.Layout(t).Text(); got != want {
		t.Errorf("menu as text:\n%s\nwant:\n%s", got, want)
	}
	m.Click(t, m.Find(t, "Quit").ID)
	select {
	case got := <-menu.clicked:
		if got != 8 {
			t.Errorf("clicked entry %d, want 8 (Quit)", got)
		}
	case <-ctx.Done():
		t.Fatal("the click did not reach the menu")
	}
}
