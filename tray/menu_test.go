package tray

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sunoye/sunoye/rooms"
)

// fakeItem is a menu entry of fakeBackend. Like systray's, its click
// channel is unbuffered.
type fakeItem struct {
	b        *fakeBackend
	title    string
	checked  bool
	enabled  bool
	visible  bool
	sep      bool
	clicks   chan struct{}
	children []*fakeItem
}

func (i *fakeItem) call()                    { i.b.mu.Lock(); i.b.calls++; i.b.mu.Unlock() }
func (i *fakeItem) SetTitle(s string)        { i.call(); i.title = s }
func (i *fakeItem) SetTooltip(string)        { i.call() }
func (i *fakeItem) SetChecked(on bool)       { i.call(); i.checked = on }
func (i *fakeItem) SetEnabled(on bool)       { i.call(); i.enabled = on }
func (i *fakeItem) SetVisible(on bool)       { i.call(); i.visible = on }
func (i *fakeItem) Clicked() <-chan struct{} { return i.clicks }
func (i *fakeItem) AddChildSeparator() {
	i.children = append(i.children, &fakeItem{sep: true, visible: true})
}
func (i *fakeItem) AddChild(t string, _ bool) item {
	c := i.b.newItem(t)
	i.children = append(i.children, c)
	return c
}

// fakeBackend is an append-only menu, as systray's is.
type fakeBackend struct {
	mu      sync.Mutex
	calls   int // calls that would each send a D-Bus signal
	resets  int
	top     []*fakeItem
	icon    []byte
	tooltip string
}

func (b *fakeBackend) newItem(title string) *fakeItem {
	b.mu.Lock()
	b.calls++
	b.mu.Unlock()
	return &fakeItem{b: b, title: title, enabled: true, visible: true, clicks: make(chan struct{})}
}

func (b *fakeBackend) AddItem(t string, _ bool) item {
	i := b.newItem(t)
	b.top = append(b.top, i)
	return i
}
func (b *fakeBackend) AddSeparator() { b.top = append(b.top, &fakeItem{sep: true, visible: true}) }
func (b *fakeBackend) Reset() {
	for _, i := range b.top {
		close2(i)
	}
	b.top = nil
	b.resets++
}
func (b *fakeBackend) SetIcon(icon []byte) { b.icon = icon; b.calls++ }
func (b *fakeBackend) SetTooltip(s string) { b.tooltip = s; b.calls++ }

func close2(i *fakeItem) {
	for _, c := range i.children {
		close2(c)
	}
	if i.clicks != nil {
		close(i.clicks)
	}
}

// visible returns the visible top-level entries.
func (b *fakeBackend) visible() []*fakeItem {
	var out []*fakeItem
	for _, i := range b.top {
		if i.visible {
			out = append(out, i)
		}
	}
	return out
}

func (b *fakeBackend) labels() []string {
	var out []string
	for _, i := range b.visible() {
		if i.sep {
			out = append(out, "---")
		} else {
			out = append(out, i.title)
		}
	}
	return out
}

// roomEntries returns the visible room entries by room number (their
// titles start with it).
func (b *fakeBackend) roomEntries() (ids []rooms.ID, items map[rooms.ID]*fakeItem) {
	items = make(map[rooms.ID]*fakeItem)
	for _, i := range b.visible() {
		if !i.sep && i.title != "" && i.title[0] >= '1' && i.title[0] <= '9' {
			id := rooms.ID(strings.SplitN(i.title, " ", 2)[0])
			ids = append(ids, id)
			items[id] = i
		}
	}
	return ids, items
}

func (i *fakeItem) child(label string) *fakeItem {
	for _, c := range i.children {
		if strings.HasPrefix(c.title, label) {
			return c
		}
	}
	return nil
}

type clickLog struct {
	ch chan string
}

func newClickLog() *clickLog { return &clickLog{ch: make(chan string, 16)} }

func (c *clickLog) handlers() handlers {
	rec := func(what string) func() { return func() { c.ch <- what } }
	recRoom := func(what string) func(rooms.ID) { return func(id rooms.ID) { c.ch <- what + " " + string(id) } }
	return handlers{
		create: rec("create"), join: rec("join"), settings: rec("settings"), quit: rec("quit"), dnd: rec("dnd"),
		open: recRoom("open"), invite: recRoom("invite"), leave: recRoom("leave"),
		notify: func(id rooms.ID, l rooms.NotifyLevel) { c.ch <- "notify " + string(l) + " " + string(id) },
	}
}

func (c *clickLog) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-c.ch:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no click handled")
		return ""
	}
}

func newTestMenu(t *testing.T) (*menu, *fakeBackend, *clickLog) {
	t.Helper()
	b := &fakeBackend{}
	clicks := newClickLog()
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	m := newMenu(b, clicks.handlers(), slog.New(slog.DiscardHandler), done)
	m.build(initialSlots)
	return m, b, clicks
}

func info(id rooms.ID, members, unread int) rooms.RoomInfo {
	r := rooms.RoomInfo{ID: id, Unread: unread, Connected: true, CanInvite: true}
	for i := range members {
		r.Members = append(r.Members, rooms.Member{ID: rooms.MemberID(fmt.Sprint(i)), Name: fmt.Sprint("m", i)})
	}
	return r
}

func TestMenuFixedEntries(t *testing.T) {
	m, b, clicks := newTestMenu(t)
	m.update(nil, false)
	want := []string{labelCreate, labelJoin, "---", labelNoRooms, "---", labelDND, labelSettings, labelQuit}
	if got := b.labels(); !slices.Equal(got, want) {
		t.Fatalf("menu %q, want %q", got, want)
	}
	if b.tooltip != "SunOye" {
		t.Errorf("tooltip %q", b.tooltip)
	}
	for _, c := range []struct{ label, want string }{
		{labelCreate, "create"}, {labelJoin, "join"}, {labelDND, "dnd"}, {labelSettings, "settings"}, {labelQuit, "quit"},
	} {
		for _, i := range b.visible() {
			if i.title == c.label {
				i.clicks <- struct{}{}
			}
		}
		if got := clicks.next(t); got != c.want {
			t.Errorf("click on %q ran %q, want %q", c.label, got, c.want)
		}
	}
}

// Rooms joined in any order are listed by number, and a room's entry is
// the same item for as long as the room is joined: it never moves, so a
// click meant for it cannot land elsewhere.
func TestMenuRoomsKeepOrderAndItems(t *testing.T) {
	for _, order := range []string{"random", "ascending", "descending"} {
		t.Run(order, func(t *testing.T) {
			m, b, _ := newTestMenu(t)
			rng := rand.New(rand.NewPCG(1, uint64(len(order))))
			var ids []rooms.ID
			for len(ids) < 20 {
				id := rooms.ID(fmt.Sprint(100_000_000 + rng.IntN(900_000_000)))
				if !slices.Contains(ids, id) {
					ids = append(ids, id)
				}
			}
			switch order {
			case "ascending":
				slices.Sort(ids)
			case "descending":
				slices.Sort(ids)
				slices.Reverse(ids)
			}
			first := map[rooms.ID]*fakeItem{}
			var joined []rooms.RoomInfo
			for _, id := range ids {
				joined = append(joined, info(id, 1, 0))
				resets := b.resets
				m.update(joined, false)
				got, items := b.roomEntries()
				if !slices.IsSorted(got) || len(got) != len(joined) {
					t.Fatalf("after joining %s: entries %v, want the %d joined rooms in order", id, got, len(joined))
				}
				if b.resets != resets {
					clear(first) // rebuilt: new items, all at once
				}
				for id, it := range items {
					if f, ok := first[id]; ok && f != it {
						t.Fatalf("room %s changed entries without a rebuild", id)
					}
					first[id] = it
				}
			}
			if b.resets > 1 {
				t.Errorf("%d rebuilds for 20 rooms, want at most one", b.resets)
			}
			// After a rebuild the submenus come a moment later, for
			// libdbusmenu-gtk's sake (see remake).
			if m.submenusDue {
				m.addSubmenus()
				m.update(joined, false)
			}
			_, items := b.roomEntries()
			for id, it := range items {
				if len(it.children) != 8 || it.child(labelLeave) == nil {
					t.Errorf("room %s has %d submenu entries, want Open chat, Copy invite, a separator, three notification levels, a separator, Leave", id, len(it.children))
				}
			}
			t.Logf("%s: %d rebuilds", order, b.resets)
		})
	}
}

// An update that changes nothing sends nothing, so a panel has nothing to
// redraw; one that changes a count sends only that.
func TestMenuUpdatesInPlace(t *testing.T) {
	m, b, _ := newTestMenu(t)
	rs := []rooms.RoomInfo{info("482913057", 1, 0), info("123456789", 2, 0)}
	m.update(rs, false)
	before := b.calls
	m.update(rs, false)
	if b.calls != before {
		t.Errorf("an update without changes made %d calls", b.calls-before)
	}
	rs[0] = info("482913057", 3, 2)
	m.update(rs, false)
	if n := b.calls - before; n != 3 { // the entry's title, the icon, the tooltip
		t.Errorf("one room's counts changed: %d calls, want 3", n)
	}
	_, items := b.roomEntries()
	if got := items["482913057"].title; got != "482913057 — 3 members, 2 unread" {
		t.Errorf("entry %q", got)
	}
	if b.tooltip != "SunOye — 2 unread in 482913057" {
		t.Errorf("tooltip %q", b.tooltip)
	}
}

// A room's submenu acts on the room it shows; once the room is left, its
// hidden entry does nothing, and the slot serves the next room.
func TestMenuRoomClicks(t *testing.T) {
	m, b, clicks := newTestMenu(t)
	a, c := info("300000000", 1, 0), info("700000000", 1, 0)
	a.CanInvite = false
	m.update([]rooms.RoomInfo{a, c}, false)
	_, items := b.roomEntries()
	for _, step := range []struct {
		room  rooms.ID
		label string
		want  string
	}{
		{"300000000", labelOpen, "open 300000000"},
		{"700000000", labelInvite, "invite 700000000"},
		{"700000000", labelNotifyMentions, "notify mentions 700000000"},
		{"700000000", labelNotifyNone, "notify none 700000000"},
		{"300000000", labelNotifyAll, "notify all 300000000"},
		{"300000000", labelLeave, "leave 300000000"},
	} {
		items[step.room].child(step.label).clicks <- struct{}{}
		if got := clicks.next(t); got != step.want {
			t.Errorf("%s › %s ran %q, want %q", step.room, step.label, got, step.want)
		}
	}
	if inv := items["300000000"].child("Copy invite"); inv.enabled || inv.title != labelNoInvite {
		t.Errorf("invite of a room whose password is unknown: %q enabled=%v", inv.title, inv.enabled)
	}

	left := items["300000000"]
	m.update([]rooms.RoomInfo{c}, false)
	if got, _ := b.roomEntries(); !slices.Equal(got, []rooms.ID{"700000000"}) {
		t.Fatalf("after leaving: %v", got)
	}
	left.child(labelLeave).clicks <- struct{}{} // a late click on the hidden entry
	select {
	case got := <-clicks.ch:
		t.Errorf("a click on a left room's entry ran %q", got)
	case <-time.After(100 * time.Millisecond):
	}
	m.update([]rooms.RoomInfo{info("200000000", 1, 0), c}, false)
	if got, _ := b.roomEntries(); !slices.Equal(got, []rooms.ID{"200000000", "700000000"}) {
		t.Fatalf("after joining again: %v", got)
	}
	if len(b.top) != 3+initialSlots+5 {
		t.Errorf("menu grew to %d items: free slots are not reused", len(b.top))
	}
}

func TestStatusIcon(t *testing.T) {
	m, b, _ := newTestMenu(t)
	m.update([]rooms.RoomInfo{info("482913057", 2, 0)}, false)
	normal := b.icon
	r := info("482913057", 2, 1)
	m.update([]rooms.RoomInfo{r}, false)
	unread := b.icon
	r.Connected = false
	m.update([]rooms.RoomInfo{r}, false)
	if b.tooltip != "SunOye — disconnected from the broker; 1 unread in 482913057" {
		t.Errorf("tooltip %q", b.tooltip)
	}
	both := b.icon
	r.Muted, r.Connected = true, true
	m.update([]rooms.RoomInfo{r}, false)
	if string(b.icon) != string(normal) || b.tooltip != "SunOye" {
		t.Errorf("a muted room's unread messages changed the icon or the tooltip (%q)", b.tooltip)
	}
	icons := map[string]bool{string(normal): true, string(unread): true, string(both): true}
	if len(icons) != 3 {
		t.Errorf("the icon states are not distinct")
	}
}

func TestTooltipNamesFewRooms(t *testing.T) {
	st := status{unread: 9, unreadRooms: []rooms.ID{"100000001", "100000002", "100000003", "100000004", "100000005"}}
	if got, want := st.tooltip(), "SunOye — 9 unread in 100000001, 100000002, 100000003 and 2 more"; got != want {
		t.Errorf("tooltip %q, want %q", got, want)
	}
}

// On Windows the icon is an ICO holding the PNG; check that it is one.
func TestICO(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\nrest")
	ico := icoOfPNG(png, 64, 64)
	want := []byte{0, 0, 1, 0, 1, 0, 64, 64, 0, 0, 1, 0, 32, 0, byte(len(png)), 0, 0, 0, 22, 0, 0, 0}
	if string(ico[:22]) != string(want) || string(ico[22:]) != string(png) {
		t.Errorf("ICO header % x, want % x", ico[:22], want)
	}
}

// The notification level entries act as radio items: the room's level is
// ticked, and only it.
func TestMenuNotifyLevels(t *testing.T) {
	m, b, _ := newTestMenu(t)
	r := info("482913057", 2, 1)
	for _, c := range []struct {
		level rooms.NotifyLevel
		muted bool
		tick  string
		title string
	}{
		{"", false, labelNotifyAll, "482913057 — 2 members, 1 unread"},
		{rooms.NotifyMentions, false, labelNotifyMentions, "482913057 — 2 members, 1 unread, mentions only"},
		{rooms.NotifyNone, true, labelNotifyNone, "482913057 — 2 members, 1 unread, muted"},
		{rooms.NotifyAll, false, labelNotifyAll, "482913057 — 2 members, 1 unread"},
	} {
		r.Notify, r.Muted = c.level, c.muted
		m.update([]rooms.RoomInfo{r}, false)
		_, items := b.roomEntries()
		it := items["482913057"]
		for _, l := range notifyLevels {
			if got := it.child(l.label).checked; got != (l.label == c.tick) {
				t.Errorf("level %q: %q ticked=%v", c.level, l.label, got)
			}
		}
		if it.title != c.title {
			t.Errorf("level %q: entry %q, want %q", c.level, it.title, c.title)
		}
	}
}
