//go:build !windows

package web

import (
	"context"
	"net"
)

// listenLocal listens on a unix socket at path; see ListenUnix.
func listenLocal(path string) (net.Listener, error) { return ListenUnix(path) }

// dialLocal connects to the unix socket at path.
func dialLocal(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", path)
}
