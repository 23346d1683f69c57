package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

// Names and paths of the StatusNotifierItem protocol, the tray icons of
// KDE, XFCE, and GNOME's AppIndicator extension.
const (
	sniWatcherName = "org.kde.StatusNotifierWatcher"
	sniWatcherPath = "/StatusNotifierWatcher"
	sniItemIface   = "org.kde.StatusNotifierItem"
	sniItemPath    = "/StatusNotifierItem"
	dbusmenuIface  = "com.canonical.dbusmenu"
)

// sniTimeout bounds each D-Bus call the tray helpers make, and how long
// Find waits for an entry to appear.
const sniTimeout = 30 * time.Second

// Watcher is a stand-in for a tray host's org.kde.StatusNotifierWatcher:
// the bus name a tray application registers its icon with.
type Watcher struct {
	// Registered receives every registered item as a watcher records it:
	// its bus name and object path, such as ":1.7/StatusNotifierItem".
	Registered <-chan string

	conn *dbus.Conn
	once sync.Once
}

type sniWatcher struct {
	registered chan string
	mu         sync.Mutex
	items      []string
	props      *prop.Properties
	conn       *dbus.Conn
}

// RegisterStatusNotifierItem records an item. Applications pass either
// their object path (the item's bus name is then the caller's) or a bus
// name (the path is then the standard one), as the KDE watcher accepts.
func (w *sniWatcher) RegisterStatusNotifierItem(sender dbus.Sender, service string) *dbus.Error {
	id := string(sender) + service
	if !strings.HasPrefix(service, "/") {
		id = service + sniItemPath
	}
	w.mu.Lock()
	w.items = append(w.items, id)
	items := append([]string(nil), w.items...)
	w.mu.Unlock()
	w.props.SetMust(sniWatcherName, "RegisteredStatusNotifierItems", items)
	w.conn.Emit(sniWatcherPath, sniWatcherName+".StatusNotifierItemRegistered", id)
	select {
	case w.registered <- id:
	default: // nobody is reading that many registrations: drop
	}
	return nil
}

// RegisterStatusNotifierHost accepts a host; this watcher claims to have
// one from the start.
func (w *sniWatcher) RegisterStatusNotifierHost(service string) *dbus.Error { return nil }

// StatusNotifierWatcher claims org.kde.StatusNotifierWatcher on the bus at
// busAddr, as a tray host does, and records the items that register. It
// says a host is registered (IsStatusNotifierHostRegistered), since it
// stands in for one. It is gone when the test ends, or at Close.
func StatusNotifierWatcher(t testing.TB, busAddr string) *Watcher {
	t.Helper()
	conn := sniConnect(t, busAddr)
	w := &sniWatcher{registered: make(chan string, 16), conn: conn}
	if err := conn.Export(w, sniWatcherPath, sniWatcherName); err != nil {
		t.Fatalf("testenv: export the watcher: %v", err)
	}
	props, err := prop.Export(conn, sniWatcherPath, map[string]map[string]*prop.Prop{
		sniWatcherName: {
			"RegisteredStatusNotifierItems":  {Value: []string{}, Emit: prop.EmitTrue},
			"IsStatusNotifierHostRegistered": {Value: true, Emit: prop.EmitTrue},
			"ProtocolVersion":                {Value: int32(0), Emit: prop.EmitTrue},
		},
	})
	if err != nil {
		t.Fatalf("testenv: export the watcher's properties: %v", err)
	}
	w.props = props
	reply, err := conn.RequestName(sniWatcherName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("testenv: claim %s: reply %v, %v", sniWatcherName, reply, err)
	}
	wa := &Watcher{Registered: w.registered, conn: conn}
	t.Cleanup(wa.Close)
	return wa
}

// Close gives the name up, as a tray host does when it exits.
func (w *Watcher) Close() { w.once.Do(func() { w.conn.Close() }) }

// sniConnect opens a connection to the bus at addr, closed when the test
// ends.
func sniConnect(t testing.TB, addr string) *dbus.Conn {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatalf("testenv: connect to the bus %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TrayItem is a StatusNotifierItem, read the way a tray host reads it.
type TrayItem struct {
	conn *dbus.Conn
	obj  dbus.BusObject
}

// NewTrayItem opens the item that registered as id (what
// Watcher.Registered delivers) on the bus at busAddr.
func NewTrayItem(t testing.TB, busAddr, id string) *TrayItem {
	t.Helper()
	i := strings.Index(id, "/")
	if i <= 0 {
		t.Fatalf("testenv: tray item %q is not a bus name followed by a path", id)
	}
	conn := sniConnect(t, busAddr)
	return &TrayItem{conn: conn, obj: conn.Object(id[:i], dbus.ObjectPath(id[i:]))}
}

// Property returns one of the item's org.kde.StatusNotifierItem
// properties.
func (it *TrayItem) Property(t testing.TB, name string) any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), sniTimeout)
	defer cancel()
	var v dbus.Variant
	if err := it.obj.CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, sniItemIface, name).Store(&v); err != nil {
		t.Fatalf("testenv: tray item property %s: %v", name, err)
	}
	return v.Value()
}

// Pixmap is one image of an icon: ARGB32 pixels in network byte order,
// row by row.
type Pixmap struct {
	W, H int32
	ARGB []byte
}

// IconPixmap returns the item's icon images.
func (it *TrayItem) IconPixmap(t testing.TB) []Pixmap {
	t.Helper()
	var pms []Pixmap
	if err := dbus.Store([]any{it.Property(t, "IconPixmap")}, &pms); err != nil {
		t.Fatalf("testenv: IconPixmap: %v", err)
	}
	return pms
}

// ToolTip returns the title of the item's tooltip, the text a host shows
// on hover.
func (it *TrayItem) ToolTip(t testing.TB) string {
	t.Helper()
	var tip struct {
		IconName string
		Icons    []Pixmap
		Title    string
		Text     string
	}
	if err := dbus.Store([]any{it.Property(t, "ToolTip")}, &tip); err != nil {
		t.Fatalf("testenv: ToolTip: %v", err)
	}
	return tip.Title
}

// Menu returns the item's menu, found through its Menu property as a
// host finds it.
func (it *TrayItem) Menu(t testing.TB) *Menu {
	t.Helper()
	path, ok := it.Property(t, "Menu").(dbus.ObjectPath)
	if !ok || !path.IsValid() {
		t.Fatalf("testenv: tray item has no menu (Menu = %v)", it.Property(t, "Menu"))
	}
	return &Menu{obj: it.conn.Object(it.obj.Destination(), path)}
}

// Menu is a com.canonical.dbusmenu menu, driven the way a panel drives
// it.
type Menu struct {
	obj dbus.BusObject
}

// MenuNode is an entry of a menu, with the dbusmenu properties a panel
// draws.
type MenuNode struct {
	ID        int32
	Label     string
	Separator bool
	Enabled   bool
	Visible   bool
	// Checkmark is true for a checkbox entry, and Checked when it is
	// ticked.
	Checkmark bool
	Checked   bool
	Children  []*MenuNode
}

// dbusLayout is the (ia{sv}av) of GetLayout.
type dbusLayout struct {
	ID       int32
	Props    map[string]dbus.Variant
	Children []dbus.Variant
}

// Layout returns the whole menu as it is now.
func (m *Menu) Layout(t testing.TB) *MenuNode {
	t.Helper()
	n, err := m.layout()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return n
}

func (m *Menu) layout() (*MenuNode, error) {
	ctx, cancel := context.WithTimeout(context.Background(), sniTimeout)
	defer cancel()
	var (
		revision uint32
		root     dbusLayout
	)
	call := m.obj.CallWithContext(ctx, dbusmenuIface+".GetLayout", 0, int32(0), int32(-1), []string{})
	if err := call.Store(&revision, &root); err != nil {
		return nil, fmt.Errorf("dbusmenu GetLayout: %w", err)
	}
	return toNode(root)
}

func toNode(l dbusLayout) (*MenuNode, error) {
	n := &MenuNode{ID: l.ID, Enabled: true, Visible: true}
	for k, v := range l.Props {
		switch k {
		case "label":
			n.Label, _ = v.Value().(string)
		case "type":
			n.Separator = v.Value() == "separator"
		case "enabled":
			n.Enabled, _ = v.Value().(bool)
		case "visible":
			n.Visible, _ = v.Value().(bool)
		case "toggle-type":
			n.Checkmark = v.Value() == "checkmark"
		case "toggle-state":
			var state int64
			if err := dbus.Store([]any{v.Value()}, &state); err == nil {
				n.Checked = state == 1
			} else if i, ok := v.Value().(int32); ok {
				n.Checked = i == 1
			}
		}
	}
	for _, cv := range l.Children {
		var child dbusLayout
		if err := dbus.Store([]any{cv.Value()}, &child); err != nil {
			return nil, fmt.Errorf("dbusmenu layout of entry %d: %w", l.ID, err)
		}
		c, err := toNode(child)
		if err != nil {
			return nil, err
		}
		n.Children = append(n.Children, c)
	}
	return n, nil
}

// Find returns the visible entry reached by following labels from the
// top of the menu, each matched as a prefix of an entry's label among the
// visible children of the one before: Find(t, "482913057", "Mute"). It
// waits for the entry to appear, as a person waits for a menu to fill,
// and fails the test if it does not.
func (m *Menu) Find(t testing.TB, path ...string) *MenuNode {
	t.Helper()
	var found *MenuNode
	m.WaitFor(t, fmt.Sprintf("menu entry %q", path), func(root *MenuNode) bool {
		found = root.Find(path...)
		return found != nil
	})
	return found
}

// WaitFor reads the menu until cond holds, and fails the test, showing
// the menu, if it does not within a generous deadline. It returns the
// menu for which cond held.
func (m *Menu) WaitFor(t testing.TB, what string, cond func(root *MenuNode) bool) *MenuNode {
	t.Helper()
	deadline := time.Now().Add(sniTimeout)
	for {
		root, err := m.layout()
		if err == nil && cond(root) {
			return root
		}
		if time.Now().After(deadline) {
			shown := "(none)"
			if root != nil {
				shown = root.Text()
			}
			t.Fatalf("testenv: waited %v for %s; last error %v; menu:\n%s", sniTimeout, what, err, shown)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Click clicks entry id, as a panel does when the user picks it.
func (m *Menu) Click(t testing.TB, id int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), sniTimeout)
	defer cancel()
	call := m.obj.CallWithContext(ctx, dbusmenuIface+".Event", 0, id, "clicked", dbus.MakeVariant(int32(0)), uint32(time.Now().Unix()))
	if call.Err != nil {
		t.Fatalf("testenv: click menu entry %d: %v", id, call.Err)
	}
}

// Find returns the visible entry reached by following labels (prefixes)
// down from n, or nil.
func (n *MenuNode) Find(path ...string) *MenuNode {
	cur := n
	for _, label := range path {
		var next *MenuNode
		for _, c := range cur.Children {
			if c.Visible && !c.Separator && strings.HasPrefix(c.Label, label) {
				next = c
				break
			}
		}
		if next == nil {
			return nil
		}
		cur = next
	}
	return cur
}

// Labels returns the labels of n's visible entries, separators as "---".
func (n *MenuNode) Labels() []string {
	var out []string
	for _, c := range n.Children {
		switch {
		case !c.Visible:
		case c.Separator:
			out = append(out, "---")
		default:
			out = append(out, c.Label)
		}
	}
	return out
}

// Text draws the visible menu below n as an indented tree, the way a
// panel shows it: "[x]" for a ticked checkbox, "[ ]" for an unticked one,
// "(disabled)" for a greyed entry, "›" for a submenu.
func (n *MenuNode) Text() string {
	var b strings.Builder
	n.text(&b, 0)
	return b.String()
}

func (n *MenuNode) text(b *strings.Builder, depth int) {
	for _, c := range n.Children {
		if !c.Visible {
			continue
		}
		b.WriteString(strings.Repeat("    ", depth))
		switch {
		case c.Separator:
			b.WriteString("────────────")
		default:
			if c.Checkmark {
				if c.Checked {
					b.WriteString("[x] ")
				} else {
					b.WriteString("[ ] ")
				}
			}
			b.WriteString(c.Label)
			if len(c.Children) > 0 {
				b.WriteString("  ›")
			}
			if !c.Enabled {
				b.WriteString("  (disabled)")
			}
		}
		b.WriteString("\n")
		c.text(b, depth+1)
	}
}

// TrayHost starts a real tray host on the bus at busAddr and the X
// display: gtk-sni-tray-standalone with its own StatusNotifierWatcher, a
// bar of tray icons along the top of the screen, 32 pixels high, on a
// light grey background. It returns once the watcher answers, and is
// stopped when the test ends.
func TrayHost(t testing.TB, busAddr, display string) {
	t.Helper()
	bin := NeedBinary(t, "gtk-sni-tray-standalone", "haskell-gtk-sni-tray-utils")
	dir := t.TempDir()
	conn := sniConnect(t, busAddr)
	// gtk-sni-tray-standalone 0.1.8 sometimes exits at start: its host
	// calls its watcher before the watcher serves its object ("Pattern
	// match failure ... Main.hs:177"). A new start gets past that.
	const attempts = 3
	var err error
	for range attempts {
		cmd := exec.Command(bin, "--watcher", "--top", "--beginning", "--size", "32", "--color", "#e0e0e0")
		cmd.Env = append(os.Environ(),
			"DBUS_SESSION_BUS_ADDRESS="+busAddr,
			"DISPLAY="+display,
			"GDK_BACKEND=x11",
			"NO_AT_BRIDGE=1", // no accessibility bus to look for
		)
		var p *process
		p, err = startProcess("gtk-sni-tray-standalone", filepath.Join(dir, "tray.log"), cmd)
		if err != nil {
			t.Fatalf("testenv: %v", err)
		}
		t.Cleanup(p.stop)
		// Ready when the watcher answers (it takes its bus name before it
		// serves its object) and the bar has registered as its host: the
		// crash above comes between the two. Then it must stay up a moment.
		err = p.waitReady(readyTimeout, func() error {
			if _, err := sniRegisteredItems(conn); err != nil {
				return err
			}
			return sniHostRegistered(conn)
		})
		if err == nil {
			select {
			case <-p.exited:
				err = errors.New("gtk-sni-tray-standalone exited right after it started")
			case <-time.After(hostSettle):
				return
			}
		}
		select {
		case <-p.exited:
			t.Logf("testenv: %v; starting it again", err)
		default:
			t.Fatalf("testenv: %v", err) // up but not answering: no retry helps
		}
	}
	t.Fatalf("testenv: %v", err)
}

// RegisteredTrayItems returns the items the bus's
// StatusNotifierWatcher lists, whichever host runs it.
func RegisteredTrayItems(t testing.TB, busAddr string) []string {
	t.Helper()
	conn := sniConnect(t, busAddr)
	defer conn.Close()
	items, err := sniRegisteredItems(conn)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return items
}

// hostSettle is how long a new tray bar must stay up to count as started.
const hostSettle = 500 * time.Millisecond

// sniHostRegistered returns an error unless a host has registered with the
// bus's StatusNotifierWatcher.
func sniHostRegistered(conn *dbus.Conn) error {
	ctx, cancel := context.WithTimeout(context.Background(), sniTimeout)
	defer cancel()
	var v dbus.Variant
	if err := conn.Object(sniWatcherName, sniWatcherPath).CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0,
		sniWatcherName, "IsStatusNotifierHostRegistered").Store(&v); err != nil {
		return fmt.Errorf("IsStatusNotifierHostRegistered of %s: %w", sniWatcherName, err)
	}
	if ok, _ := v.Value().(bool); !ok {
		return errors.New("no StatusNotifierHost registered yet")
	}
	return nil
}

func sniRegisteredItems(conn *dbus.Conn) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), sniTimeout)
	defer cancel()
	var v dbus.Variant
	if err := conn.Object(sniWatcherName, sniWatcherPath).CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0,
		sniWatcherName, "RegisteredStatusNotifierItems").Store(&v); err != nil {
		return nil, fmt.Errorf("RegisteredStatusNotifierItems of %s: %w", sniWatcherName, err)
	}
	items, _ := v.Value().([]string)
	return items, nil
}
