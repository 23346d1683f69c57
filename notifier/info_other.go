//go:build !(linux || freebsd || netbsd || openbsd || dragonfly || windows)

package notifier

import "context"

// ServerInfo names how notifications are shown on this system.
func ServerInfo(context.Context) (string, error) {
	return "the system's notifications (through beeep; no click actions)", nil
}
