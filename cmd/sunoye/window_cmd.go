package main

import (
	"errors"
	"os"

	"github.com/spf13/cobra"

	"github.com/sunoye/sunoye/chatview"
)

// newWindowCmd is the child process that shows one chat window; the
// daemon starts it (chatview.Manager), users never do.
func newWindowCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "window TITLE",
		Short:  "Show one chat window (started by the daemon)",
		Hidden: true,
		Args:   args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, a []string) error {
			url := os.Getenv(chatview.URLEnv)
			if url == "" {
				return usageError{errors.New("sunoye window is started by the daemon; use 'sunoye open' instead")}
			}
			// The URL's one-time token is spent on the first load; keep it
			// out of anything this process starts.
			os.Unsetenv(chatview.URLEnv)
			return chatview.RunWindow(url, a[0], os.Stdin)
		},
	}
}
