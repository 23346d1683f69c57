package tray

import "fyne.io/systray"

// item is one menu entry as the menu code drives it. systrayItem adapts
// fyne's MenuItem; the menu's unit tests use a fake.
type item interface {
	SetTitle(title string)
	SetTooltip(tooltip string)
	SetChecked(checked bool)
	SetEnabled(enabled bool)
	SetVisible(visible bool)
	// Clicked delivers clicks. The channel is closed when the item is
	// removed.
	Clicked() <-chan struct{}
	// AddChild adds an entry to the item's submenu.
	AddChild(title string, checkbox bool) item
	// AddChildSeparator adds a separator to the item's submenu.
	AddChildSeparator()
}

// backend is the tray: the icon, its tooltip, and the top of the menu.
// Entries are appended; there is no inserting, which is why menu.go keeps
// hidden slots for rooms.
type backend interface {
	AddItem(title string, checkbox bool) item
	AddSeparator()
	// Reset removes every entry, closing their Clicked channels.
	Reset()
	SetIcon(icon []byte)
	SetTooltip(tooltip string)
}

// systrayBackend is the real tray, fyne.io/systray's process-global one.
type systrayBackend struct{}

func (systrayBackend) AddItem(title string, checkbox bool) item {
	if checkbox {
		return systrayItem{systray.AddMenuItemCheckbox(title, "", false)}
	}
	return systrayItem{systray.AddMenuItem(title, "")}
}

func (systrayBackend) AddSeparator()          { systray.AddSeparator() }
func (systrayBackend) Reset()                 { systray.ResetMenu() }
func (systrayBackend) SetIcon(icon []byte)    { systray.SetIcon(icon) }
func (systrayBackend) SetTooltip(text string) { systray.SetTooltip(text) }

type systrayItem struct{ m *systray.MenuItem }

func (i systrayItem) SetTitle(title string)     { i.m.SetTitle(title) }
func (i systrayItem) SetTooltip(tooltip string) { i.m.SetTooltip(tooltip) }
func (i systrayItem) Clicked() <-chan struct{}  { return i.m.ClickedCh }
func (i systrayItem) AddChildSeparator()        { i.m.AddSeparator() }

func (i systrayItem) SetChecked(checked bool) {
	if checked {
		i.m.Check()
	} else {
		i.m.Uncheck()
	}
}

func (i systrayItem) SetEnabled(enabled bool) {
	if enabled {
		i.m.Enable()
	} else {
		i.m.Disable()
	}
}

func (i systrayItem) SetVisible(visible bool) {
	if visible {
		i.m.Show()
	} else {
		i.m.Hide()
	}
}

func (i systrayItem) AddChild(title string, checkbox bool) item {
	if checkbox {
		return systrayItem{i.m.AddSubMenuItemCheckbox(title, "", false)}
	}
	return systrayItem{i.m.AddSubMenuItem(title, "")}
}
