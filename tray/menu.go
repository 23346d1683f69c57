package tray

import (
	"log/slog"
	"sync/atomic"

	"github.com/sunoye/sunoye/rooms"
)

// Labels of the fixed entries. Tests and the README refer to them.
const (
	labelCreate   = "Create room…"
	labelJoin     = "Join room…"
	labelNoRooms  = "No rooms yet"
	labelDND      = "Do not disturb"
	labelSettings = "Settings…"
	labelQuit     = "Quit"
	labelOpen     = "Open chat"
	labelInvite   = "Copy invite"
	labelNoInvite = "Copy invite (password not kept across restarts)"
	// A room's notification level: three entries, one ticked.
	labelNotifyAll      = "Notify: all messages"
	labelNotifyMentions = "Notify: mentions only"
	labelNotifyNone     = "Notify: none (muted)"
	labelLeave          = "Leave"
	initialSlots        = 32
	slotsPerRoomMin     = 4 // a rebuild makes at least this many slots per room
)

// handlers react to clicks. They run on the goroutine that receives the
// click, so they must return at once (they queue the work): the tray drops
// a click that arrives while nobody receives.
type handlers struct {
	create, join, settings, quit, dnd func()
	open, invite, leave               func(rooms.ID)
	notify                            func(rooms.ID, rooms.NotifyLevel)
}

// notifyLevels are the levels in the order of their entries, with their
// labels.
var notifyLevels = []struct {
	level rooms.NotifyLevel
	label string
}{
	{rooms.NotifyAll, labelNotifyAll},
	{rooms.NotifyMentions, labelNotifyMentions},
	{rooms.NotifyNone, labelNotifyNone},
}

// entry is an item with the state last sent to it, so that an update
// that changes nothing sends nothing over D-Bus.
type entry struct {
	it      item
	title   string
	tooltip string
	checked bool
	enabled bool
	visible bool
}

func newEntry(it item, title string) *entry {
	return &entry{it: it, title: title, enabled: true, visible: true}
}

func (e *entry) setTitle(s string) {
	if e.title != s {
		e.title = s
		e.it.SetTitle(s)
	}
}

func (e *entry) setTooltip(s string) {
	if e.tooltip != s {
		e.tooltip = s
		e.it.SetTooltip(s)
	}
}

func (e *entry) setChecked(on bool) {
	if e.checked != on {
		e.checked = on
		e.it.SetChecked(on)
	}
}

func (e *entry) setEnabled(on bool) {
	if e.enabled != on {
		e.enabled = on
		e.it.SetEnabled(on)
	}
}

func (e *entry) setVisible(on bool) {
	if e.visible != on {
		e.visible = on
		e.it.SetVisible(on)
	}
}

// slot is a place for one room's entry and its submenu.
type slot struct {
	top *entry
	// The submenu is made when the slot first holds a room.
	open, invite, leave *entry
	// levels are the notification level entries, as notifyLevels.
	levels []*entry
	// room is the room the slot shows, "" when free. Click goroutines read
	// it, so that a click acts on the room the entry showed.
	room atomic.Value // rooms.ID
}

func (s *slot) bound() rooms.ID {
	id, _ := s.room.Load().(rooms.ID)
	return id
}

// menu is the tray's menu. Its methods other than the click handlers run
// on one goroutine.
type menu struct {
	b    backend
	h    handlers
	log  *slog.Logger
	done <-chan struct{} // ends the click goroutines

	create, join, none, dnd, settings, quit *entry
	slots                                   []*slot

	shownIcon    *iconState
	shownTooltip string
	// submenusDue is set after a remake, until addSubmenus.
	submenusDue bool
}

func newMenu(b backend, h handlers, log *slog.Logger, done <-chan struct{}) *menu {
	return &menu{b: b, h: h, log: log, done: done}
}

// build adds the menu's entries, with n free room slots.
func (m *menu) build(n int) {
	m.create = m.add(labelCreate, false, m.h.create)
	m.join = m.add(labelJoin, false, m.h.join)
	m.b.AddSeparator()
	m.none = m.add(labelNoRooms, false, nil)
	m.none.setEnabled(false)
	m.slots = make([]*slot, n)
	for i := range m.slots {
		s := &slot{}
		s.room.Store(rooms.ID(""))
		s.top = m.add("", false, nil) // a parent: its clicks open the submenu
		s.top.setVisible(false)
		m.slots[i] = s
	}
	m.b.AddSeparator()
	m.dnd = m.add(labelDND, true, m.h.dnd)
	m.settings = m.add(labelSettings, false, m.h.settings)
	m.quit = m.add(labelQuit, false, m.h.quit)
}

// add appends an entry and starts receiving its clicks.
func (m *menu) add(title string, checkbox bool, onClick func()) *entry {
	e := newEntry(m.b.AddItem(title, checkbox), title)
	m.listen(e, onClick)
	return e
}

func (m *menu) addChild(parent *entry, title string, checkbox bool, onClick func()) *entry {
	e := newEntry(parent.it.AddChild(title, checkbox), title)
	m.listen(e, onClick)
	return e
}

// listen receives e's clicks for as long as e exists. Every item gets a
// receiver, even one without an action, because the tray blocks on no
// one: a click with nobody receiving is dropped.
func (m *menu) listen(e *entry, onClick func()) {
	ch := e.it.Clicked()
	go func() {
		for {
			select {
			case <-m.done:
				return
			case _, ok := <-ch:
				if !ok {
					return
				}
				if onClick != nil {
					onClick()
				}
			}
		}
	}()
}

// roomClick returns a click handler that acts on the room slot s shows
// at the moment of the click.
func roomClick(s *slot, act func(rooms.ID)) func() {
	return func() {
		if id := s.bound(); id != "" && act != nil {
			act(id)
		}
	}
}

// update brings the menu, the icon and the tooltip in line with rs (the
// joined rooms, ordered by number) and Do not disturb.
func (m *menu) update(rs []rooms.RoomInfo, dnd bool) {
	rs = sortedRooms(rs)
	want := make(map[rooms.ID]rooms.RoomInfo, len(rs))
	for _, r := range rs {
		want[r.ID] = r
	}
	shown := make(map[rooms.ID]*slot, len(rs))
	for _, s := range m.slots {
		id := s.bound()
		if id == "" {
			continue
		}
		if _, ok := want[id]; !ok {
			s.room.Store(rooms.ID(""))
			s.top.setVisible(false)
			continue
		}
		shown[id] = s
	}
	for _, r := range rs {
		if shown[r.ID] != nil {
			continue
		}
		i := m.place(r.ID)
		if i < 0 {
			m.rebuild(rs)
			m.update(rs, dnd)
			return
		}
		m.bind(m.slots[i], r.ID)
		shown[r.ID] = m.slots[i]
	}
	for _, r := range rs {
		m.show(shown[r.ID], r)
	}
	m.none.setVisible(len(rs) == 0)
	m.dnd.setChecked(dnd)
	m.setStatus(summarize(rs))
}

// rebuild makes the menu anew with more slots, and rs placed where their
// numbers fall, with gaps around each. Entry ids change, so a click in
// flight on an old one is dropped: this, and renew for a new tray host,
// are the only places where that can happen.
func (m *menu) rebuild(rs []rooms.RoomInfo) {
	n := max(initialSlots, 2*len(m.slots), slotsPerRoomMin*(len(rs)+1))
	m.log.Info("tray menu rebuilt with more room slots", "rooms", len(rs), "slots", n)
	m.remake(rs, n)
}

// renew makes the menu anew as it is, for a tray host that has just
// appeared: see remake.
func (m *menu) renew(rs []rooms.RoomInfo, dnd bool) {
	m.log.Info("tray menu made anew for a new tray host")
	m.remake(sortedRooms(rs), max(len(m.slots), slotsPerRoomMin*(len(rs)+1)))
	m.update(rs, dnd)
}

// remake builds the menu with n slots, and rs placed on them, but without
// their submenus: call addSubmenus a moment later.
//
// libdbusmenu-gtk (the tray of XFCE, Cinnamon, MATE, gtk-sni-tray) draws
// a submenu blank when the entry and its submenu first reach it in the
// same look at the menu; a submenu added to an entry it already knows is
// drawn. The systray library serves the first look after a reset only one
// level deep for that reason, but a reset is followed by a burst of
// additions, and the host's first look may come in the middle. So the
// submenus come later, once the host has seen the entries. (Rooms joined
// later are not affected: their slots were there, hidden, all along.)
func (m *menu) remake(rs []rooms.RoomInfo, n int) {
	m.b.Reset()
	m.build(n)
	for k, i := range spread(rs, n) {
		m.slots[i].room.Store(rs[k].ID)
	}
	m.submenusDue = len(rs) > 0
}

// addSubmenus gives the shown rooms their submenus after a remake.
func (m *menu) addSubmenus() {
	m.submenusDue = false
	for _, s := range m.slots {
		if s.bound() != "" {
			m.addSubmenu(s)
		}
	}
}

// bind makes s show room id, with its submenu.
func (m *menu) bind(s *slot, id rooms.ID) {
	s.room.Store(id)
	m.addSubmenu(s)
}

// addSubmenu adds s's submenu, unless it has one: a slot keeps it for
// the rooms it shows later.
func (m *menu) addSubmenu(s *slot) {
	if s.open != nil {
		return
	}
	s.open = m.addChild(s.top, labelOpen, false, roomClick(s, m.h.open))
	s.invite = m.addChild(s.top, labelInvite, false, roomClick(s, m.h.invite))
	s.top.it.AddChildSeparator()
	s.levels = make([]*entry, len(notifyLevels))
	for i, l := range notifyLevels {
		s.levels[i] = m.addChild(s.top, l.label, true, roomClick(s, func(id rooms.ID) {
			if m.h.notify != nil {
				m.h.notify(id, l.level)
			}
		}))
	}
	s.top.it.AddChildSeparator() // keep Leave, which cannot be undone, apart
	s.leave = m.addChild(s.top, labelLeave, false, roomClick(s, m.h.leave))
}

// show sets a room's entry and submenu from r.
func (m *menu) show(s *slot, r rooms.RoomInfo) {
	s.top.setTitle(entryTitle(r))
	s.top.setVisible(true)
	if s.open == nil {
		return // until addSubmenus
	}
	if r.CanInvite {
		s.invite.setTitle(labelInvite)
	} else {
		// The label says why: dbusmenu has no tooltips.
		s.invite.setTitle(labelNoInvite)
	}
	s.invite.setEnabled(r.CanInvite)
	for i, l := range notifyLevels {
		s.levels[i].setChecked(r.Notify == l.level || r.Notify == "" && l.level == rooms.NotifyAll)
	}
}

// setStatus sets the icon and tooltip, if they changed.
func (m *menu) setStatus(st status) {
	is := iconState{unread: st.unread > 0, disconnected: st.disconnected}
	if m.shownIcon == nil || *m.shownIcon != is {
		icon, err := iconFor(is)
		if err != nil {
			m.log.Error("tray icon", "err", err)
		} else {
			m.b.SetIcon(icon)
			m.shownIcon = &is
		}
	}
	if tip := st.tooltip(); tip != m.shownTooltip {
		m.b.SetTooltip(tip)
		m.shownTooltip = tip
	}
}
