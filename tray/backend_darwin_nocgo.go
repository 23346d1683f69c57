//go:build darwin && !cgo

package tray

// systrayBackend stands in for fyne.io/systray, which needs cgo on macOS.
// Run never gets this far: checkBus refuses first.
type systrayBackend struct{}

func (systrayBackend) AddItem(string, bool) item { return nil }
func (systrayBackend) AddSeparator()             {}
func (systrayBackend) Reset()                    {}
func (systrayBackend) SetIcon([]byte)            {}
func (systrayBackend) SetTooltip(string)         {}
func (systrayBackend) SetTitle(string)           {}
func (systrayBackend) Quit()                     {}
func (systrayBackend) Run(func())                {}
