//go:build darwin && !cgo

package tray

import (
	"context"
	"errors"
	"log/slog"
)

// errNeedsCgo: fyne.io/systray draws the macOS status item through Cocoa,
// which needs cgo (and so a Mac with Apple's SDK to build on).
var errNeedsCgo = errors.New("the macOS menu bar icon needs a cgo build (made on a Mac)")

// checkBus: without cgo there is no menu bar icon on macOS.
func checkBus(context.Context) error { return errNeedsCgo }

// HostPresent: see checkBus.
func HostPresent(context.Context) (bool, error) { return false, errNeedsCgo }

// keepRegistered: nothing to keep.
func keepRegistered(context.Context, *slog.Logger, func()) {}
