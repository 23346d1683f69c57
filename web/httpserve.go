package web

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Timeouts of the daemon's HTTP servers, the local API and the chat UI.
const (
	// readHeaderTimeout bounds reading a request's headers.
	readHeaderTimeout = 10 * time.Second
	// idleTimeout closes kept-alive connections left unused: clients that
	// keep them (a script's http.Client) must not pile them up in a
	// daemon that runs for weeks.
	idleTimeout = 2 * time.Minute
	// shutdownTimeout is how long open requests get to finish once the
	// server is told to stop.
	shutdownTimeout = 2 * time.Second
)

// newHTTPServer returns a server for h with the daemon's timeouts.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: readHeaderTimeout, IdleTimeout: idleTimeout}
}

// serveUntil serves srv on ln until ctx ends, then shuts it down, giving
// open requests shutdownTimeout. It returns nil when ctx stopped it, and
// Serve's error otherwise. stopped is closed once the shutdown is over:
// Serve returns as soon as the shutdown begins, so a caller that must not
// return while requests are still being answered waits for it.
func serveUntil(ctx context.Context, srv *http.Server, ln net.Listener) (stopped <-chan struct{}, err error) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	err = srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return done, err
}
