// Command sunoye-window shows one SunOye chat window. The daemon (sunoye
// up) starts it, one per window, and talks to it over its standard input;
// people never run it themselves.
//
// It is a binary of its own so that the daemon does not link WebKit (see
// package chatview/window).
package main

import (
	"fmt"
	"os"

	"github.com/sunoye/sunoye/chatview"
	"github.com/sunoye/sunoye/chatview/window"
)

func main() {
	url := os.Getenv(chatview.URLEnv)
	if url == "" || len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "sunoye-window: started by the sunoye daemon; use 'sunoye open' instead")
		os.Exit(2)
	}
	// The URL's one-time token is spent on the first load; keep it out of
	// anything this process starts (the web engine's helpers).
	os.Unsetenv(chatview.URLEnv)
	if err := window.Run(url, os.Args[1], os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "sunoye-window:", err)
		os.Exit(1)
	}
}
