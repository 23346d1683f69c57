package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sunoye/sunoye/rooms"
	"github.com/sunoye/sunoye/web"
)

func newOpenCmd() *cobra.Command {
	var printURL bool
	c := &cobra.Command{
		Use:   "open [ROOM]",
		Short: "Open the chat window of a room, or the room list",
		Long: `Open the chat window of a joined room (or, without ROOM, the list of rooms).
One window per room: if it is open already, it comes to the front.

With --url, print a one-time link to the chat UI instead, for a browser —
for a daemon that shows no windows (--headless, or no display). The link
works once, for two minutes, on this machine only.`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(c *cobra.Command, a []string) error {
			v := web.View{Kind: web.ViewHome}
			if len(a) == 1 {
				id, err := rooms.ParseID(a[0])
				if err != nil {
					return err
				}
				v = web.RoomView(id)
			}
			cl, st, err := client(c)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context(), requestTimeout)
			defer cancel()
			if printURL {
				url, err := cl.Launch(ctx, v)
				if err != nil {
					return explain(err, st)
				}
				fmt.Fprintln(c.OutOrStdout(), url)
				return nil
			}
			err = cl.Open(ctx, v)
			var api *web.APIError
			if errors.As(err, &api) && api.Code == web.CodeNoWindow {
				return fmt.Errorf("%w; 'sunoye open --url' prints a link to open in a browser", err)
			}
			return explain(err, st)
		},
	}
	c.Flags().BoolVar(&printURL, "url", false, "print a one-time link to the chat UI instead of opening a window")
	return c
}
