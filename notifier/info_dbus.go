//go:build linux || freebsd || netbsd || openbsd || dragonfly

package notifier

import (
	"context"
	"fmt"
	"strings"
)

// ServerInfo names the notification server on the session bus and what it
// can do, for `sunoye doctor`: e.g. "dunst 1.9.0 (actions, body-markup)".
// It fails, saying why, when there is no bus or no server.
func ServerInfo(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, DefaultCallTimeout)
	defer cancel()
	bc, err := dial(ctx, "")
	if err != nil {
		return "", err
	}
	defer bc.close()
	obj := bc.conn.Object(fdoName, fdoPath)
	var caps []string
	if err := obj.CallWithContext(ctx, fdoIface+".GetCapabilities", 0).Store(&caps); err != nil {
		return "", fmt.Errorf("no notification server answers on the session bus: %w", err)
	}
	var name, vendor, version, spec string
	if err := obj.CallWithContext(ctx, fdoIface+".GetServerInformation", 0).Store(&name, &vendor, &version, &spec); err != nil {
		name = "a notification server"
	}
	return fmt.Sprintf("%s %s (%s)", name, version, strings.Join(caps, ", ")), nil
}
