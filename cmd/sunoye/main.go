// Command sunoye is SunOye: end-to-end encrypted chat rooms over MQTT, as
// a tray daemon with a CLI.
//
// `sunoye up` runs the daemon; every other command is a client of the
// running daemon over its local API. See `sunoye --help`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sunoye:", err)
		os.Exit(exitCode(err))
	}
}
