//go:build !darwin || cgo

package tray

import "fyne.io/systray"

// systrayBackend is the real tray, fyne.io/systray's process-global one.
type systrayBackend struct{}

func (systrayBackend) AddItem(title string, checkbox bool) item {
	if checkbox {
		return systrayItem{systray.AddMenuItemCheckbox(title, "", false)}
	}
	return systrayItem{systray.AddMenuItem(title, "")}
}

func (systrayBackend) AddSeparator()         { systray.AddSeparator() }
func (systrayBackend) SetTitle(title string) { systray.SetTitle(title) }
func (systrayBackend) Quit()                 { systray.Quit() }

// Run runs the tray's loop until Quit, calling onReady once it is up.
func (systrayBackend) Run(onReady func())     { systray.Run(onReady, nil) }
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
