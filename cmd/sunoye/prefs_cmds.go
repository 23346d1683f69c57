package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/sunoye/sunoye/rooms"
	"github.com/sunoye/sunoye/web"
)

func newMuteCmd(mute bool) *cobra.Command {
	use, short, done := "mute ROOM", "Stop notifications for a room", "muted"
	if !mute {
		use, short, done = "unmute ROOM", "Notify again for a room", "unmuted"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, a []string) error {
			room, err := roomArg(a[0])
			if err != nil {
				return err
			}
			err = call(c, func(ctx context.Context, cl *web.Client) error { return cl.SetMuted(ctx, room, mute) })
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "room %s %s\n", room, done)
			return nil
		},
	}
}

func newNotifyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "notify ROOM all|mentions|none",
		Short: "Choose which of a room's messages notify",
		Long: `Choose which of a room's messages notify: all of them, only those that
mention you (@your name, or @room), or none. 'mute' is 'notify ROOM none',
'unmute' is 'notify ROOM all'.`,
		Args:      args(cobra.ExactArgs(2)),
		ValidArgs: []string{"all", "mentions", "none"},
		RunE: func(c *cobra.Command, a []string) error {
			room, err := roomArg(a[0])
			if err != nil {
				return err
			}
			level, err := rooms.ParseNotifyLevel(a[1])
			if err != nil {
				return usageError{fmt.Errorf("notification level %q: use all, mentions or none", a[1])}
			}
			err = call(c, func(ctx context.Context, cl *web.Client) error { return cl.SetNotify(ctx, room, string(level)) })
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "room %s notifies: %s\n", room, describeLevel(level))
			return nil
		},
	}
}

// describeLevel says what a notification level means.
func describeLevel(l rooms.NotifyLevel) string {
	switch l {
	case rooms.NotifyMentions:
		return "mentions only"
	case rooms.NotifyNone:
		return "nothing (muted)"
	}
	return "all messages"
}

func newDNDCmd() *cobra.Command {
	return &cobra.Command{
		Use:       "dnd on|off",
		Short:     "Turn do-not-disturb on or off (no notifications at all)",
		Args:      args(cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs)),
		ValidArgs: []string{"on", "off"},
		RunE: func(c *cobra.Command, a []string) error {
			err := call(c, func(ctx context.Context, cl *web.Client) error { return cl.SetDoNotDisturb(ctx, a[0] == "on") })
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "do not disturb: %s\n", a[0])
			return nil
		},
	}
}
