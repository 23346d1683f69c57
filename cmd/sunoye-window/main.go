// Command sunoye-window shows SunOye's chat windows. The daemon (sunoye
// up) starts it when the first window opens, and it hosts every window
// until the daemon ends it; they talk over its standard input and output.
// People never run it themselves.
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
	if os.Getenv(window.OneEnv) != "" {
		// On Windows, one window of the window process (its child).
		if err := window.ServeOne(os.Stdin); err != nil {
			fmt.Fprintln(os.Stderr, "sunoye-window:", err)
			os.Exit(1)
		}
		return
	}
	if os.Getenv(chatview.HostEnv) == "" || len(os.Args) != 1 {
		fmt.Fprintln(os.Stderr, "sunoye-window: started by the sunoye daemon; use 'sunoye open' instead")
		os.Exit(2)
	}
	os.Unsetenv(chatview.HostEnv)
	in, out, err := window.Stdio()
	if err == nil {
		err = window.Serve(in, out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sunoye-window:", err)
		os.Exit(1)
	}
}
