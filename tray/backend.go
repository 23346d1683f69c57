package tray

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
