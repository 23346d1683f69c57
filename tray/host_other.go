//go:build !((linux || freebsd || openbsd || netbsd) && !android) && !(darwin && !cgo)

package tray

import (
	"context"
	"log/slog"
)

// checkBus: elsewhere the tray needs no bus.
func checkBus(context.Context) error { return nil }

// HostPresent reports whether a tray host is present: outside Linux and
// the BSDs the system always has one.
func HostPresent(context.Context) (bool, error) { return true, nil }

// keepRegistered: elsewhere the system keeps the icon.
func keepRegistered(context.Context, *slog.Logger, func()) {}
