package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sunoye/sunoye/rooms"
	"github.com/sunoye/sunoye/web"
)

// sendFile sends the file at path to room, with the caption text.
func sendFile(c *cobra.Command, room, path, text string) error {
	f, err := os.Open(path)
	if err != nil {
		return usageError{fmt.Errorf("send file: %w", err)}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("send file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return usageError{fmt.Errorf("send file: %s is not a regular file", path)}
	}
	name := filepath.Base(path)
	if err := rooms.CheckFile(name, st.Size(), text); err != nil {
		return err
	}
	// Read at most one byte past the limit: the file may have grown.
	data, err := io.ReadAll(io.LimitReader(f, rooms.MaxFileBytes+1))
	if err != nil {
		return fmt.Errorf("send file: %w", err)
	}
	if err := rooms.CheckFile(name, int64(len(data)), text); err != nil {
		return err
	}
	return call(c, func(ctx context.Context, cl *web.Client) error {
		_, err := cl.SendFile(ctx, room, name, data, text)
		return err
	})
}

func newSaveCmd() *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "save ROOM MESSAGE-ID [PATH]",
		Short: "Write a message's file out",
		Long: `Write the file of a message (its id is "id" in 'sunoye tail --json') to
PATH, by default to the file's name, made safe, in the current directory;
'-' writes it to standard output. An existing file is never overwritten
unless --force. Files are kept in the daemon's memory only, with the
room's history (32 MiB of them per room: the oldest go first), until the
room is left or the daemon stops.`,
		Args: args(cobra.RangeArgs(2, 3)),
		RunE: func(c *cobra.Command, a []string) error {
			room, err := roomArg(a[0])
			if err != nil {
				return err
			}
			var path string
			err = call(c, func(ctx context.Context, cl *web.Client) error {
				name, body, err := cl.File(ctx, room, a[1])
				if err != nil {
					return err
				}
				defer body.Close()
				path = rooms.SafeFileName(name)
				if len(a) == 3 {
					path = a[2]
				}
				if path == "-" {
					_, err := io.Copy(c.OutOrStdout(), body)
					return err
				}
				return writeNew(path, body, force)
			})
			if err != nil || path == "-" {
				return err
			}
			fmt.Fprintf(c.ErrOrStderr(), "saved %s\n", path)
			return nil
		},
	}
	c.Flags().BoolVar(&force, "force", false, "overwrite PATH if it exists")
	return c
}

// writeNew writes r to path, which must not exist unless force. A file
// cut short (the daemon stopped halfway) is removed.
func writeNew(path string, r io.Reader, force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if errors.Is(err, os.ErrExist) {
		return usageError{fmt.Errorf("%s exists: pass --force to overwrite it, or give another path", path)}
	}
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// humanSize writes n bytes for people: 512 B, 3.4 KiB, 7.9 MiB.
func humanSize(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
