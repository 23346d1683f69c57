package web

import (
	"context"
	"net"

	"github.com/sunoye/sunoye/internal/userpipe"
)

// listenLocal listens on a named pipe only the current user can open,
// named in the file at path (see package userpipe).
func listenLocal(path string) (net.Listener, error) { return userpipe.Listen(path) }

// dialLocal connects to the pipe named in the file at path.
func dialLocal(ctx context.Context, path string) (net.Conn, error) { return userpipe.Dial(ctx, path) }
