package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// newManCmd writes the man pages, one per command (sunoye.1,
// sunoye-create.1, …), from the commands' own help: the packages (make
// dist) install them. Hidden: people read the result with `man sunoye`.
// Their date is $SOURCE_DATE_EPOCH's when set (reproducible builds).
func newManCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "gen-man DIR",
		Short:  "Write the man pages into DIR",
		Hidden: true,
		Args:   args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, a []string) error {
			if err := os.MkdirAll(a[0], 0o755); err != nil {
				return err
			}
			root := c.Root()
			root.DisableAutoGenTag = true
			header := &doc.GenManHeader{
				Title:   "SUNOYE",
				Section: "1",
				Source:  "SunOye " + version(),
				Manual:  "SunOye Manual",
			}
			if err := doc.GenManTree(root, header, a[0]); err != nil {
				return fmt.Errorf("man pages: %w", err)
			}
			return nil
		},
	}
}
