package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sunoye/sunoye/rooms"
	"github.com/sunoye/sunoye/web"
)

// requestTimeout bounds one CLI request; a join runs a key derivation and
// a registry round trip, a send waits for the broker's acknowledgement.
const requestTimeout = 60 * time.Second

// client connects to the daemon of the resolved state directory.
func client(c *cobra.Command) (*web.Client, settings, error) {
	st, err := resolveSettings(c.Flags())
	if err != nil {
		return nil, st, err
	}
	return web.NewClient(socketPath(st.StateDir)), st, nil
}

// call runs do against the daemon of the resolved state directory, within
// requestTimeout, and explains a daemon that is not running.
func call(c *cobra.Command, do func(ctx context.Context, cl *web.Client) error) error {
	cl, st, err := client(c)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Context(), requestTimeout)
	defer cancel()
	return explain(do(ctx, cl), st)
}

// explain adds what to do to a no-daemon error.
func explain(err error, st settings) error {
	if errors.Is(err, web.ErrNoDaemon) {
		hint := "sunoye up"
		if def, _ := defaultStateDir(); def != st.StateDir {
			hint += " --state-dir " + st.StateDir
		}
		return fmt.Errorf("%w for state directory %s; start it with '%s' (add --headless on a machine without a desktop)", web.ErrNoDaemon, st.StateDir, hint)
	}
	return err
}

func roomArg(s string) (string, error) {
	id, err := rooms.ParseID(s)
	return string(id), err
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func newCreateCmd() *cobra.Command {
	var asJSON, weak bool
	c := &cobra.Command{
		Use:   "create",
		Short: "Create a room and join it",
		Long: `Create a room with a random number and join it as its first member.

Without a password, one is generated (about 65 bits, easy to read out).
A chosen one comes from --password-file FILE (its first line; '-' reads
standard input), else $SUNOYE_PASSWORD, else --password, which other users
can read in the process list. It needs at least 8 characters, and is
refused when it is estimated easy to guess (under 50 bits, with zxcvbn:
common passwords and words, names, keyboard patterns, dates, …) unless
--weak-password insists. Share the number and the password with whoever
should join; SunOye never stores the password.`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			p, ok, err := flagPassword(c)
			if err != nil {
				return err
			}
			if !ok {
				p, ok = envPassword()
			}
			if ok {
				if err := rooms.CheckPassword(p); err != nil {
					return err
				}
			}
			var inv web.InviteJSON
			err = call(c, func(ctx context.Context, cl *web.Client) (err error) {
				inv, err = cl.CreateWith(ctx, web.CreateRequest{Password: p, WeakPassword: weak})
				return err
			})
			var api *web.APIError
			if errors.As(err, &api) && api.Code == web.CodeWeakPassword {
				return fmt.Errorf("%w, or pass --weak-password to use it all the same", err)
			}
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(c.OutOrStdout(), inv)
			}
			fmt.Fprintf(c.OutOrStdout(), "room:     %s\npassword: %s\n", inv.Room, inv.Password)
			fmt.Fprintln(c.ErrOrStderr(), "Share both with whoever should join: sunoye join", inv.Room)
			return nil
		},
	}
	addPasswordFlags(c, "the room password (at least 8 characters); generated if left out")
	c.Flags().BoolVar(&asJSON, "json", false, `print {"room":"…","password":"…"}`)
	c.Flags().BoolVar(&weak, "weak-password", false, "use the chosen password even if it is estimated easy to guess")
	return c
}

func newJoinCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "join ROOM|INVITE|-",
		Short: "Join a room with its number and password",
		Long: `Join a room. The password comes from --password-file FILE (its first
line; '-' reads standard input), else the invite, else $SUNOYE_PASSWORD,
else standard input (a prompt without echo on a terminal), so it stays out
of your shell history and of the process list, where other users can read
--password. Instead of the room number, an invite link
(sunoye://join/ROOM#PASSWORD, as 'Copy invite' makes) gives both; '-' reads
the invite from standard input, which keeps its password out of the
process list too.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, a []string) error {
			arg, fromStdin := a[0], a[0] == "-"
			if fromStdin && c.Flags().Changed(passwordFileFlag) {
				if f, _ := c.Flags().GetString(passwordFileFlag); f == "-" {
					return usageError{errors.New("the invite and --password-file cannot both come from standard input")}
				}
			}
			password, given, err := flagPassword(c)
			if err != nil {
				return err
			}
			if fromStdin {
				// The invite on standard input: its password stays out of
				// the process list, where other users can read arguments.
				text, err := io.ReadAll(io.LimitReader(c.InOrStdin(), 64<<10))
				if err != nil {
					return fmt.Errorf("read the invite from standard input: %w", err)
				}
				arg = string(text)
			}
			var room string
			switch inv, invErr := rooms.ParseInvite(arg); {
			case invErr == nil:
				room = string(inv.Room)
				if !given {
					password, given = inv.Password, true
				}
			case fromStdin:
				return usageError{fmt.Errorf("standard input: %w", invErr)}
			default:
				if room, err = roomArg(arg); err != nil {
					return err
				}
			}
			if !given {
				password, given = envPassword()
			}
			cl, st, err := client(c)
			if err != nil {
				return err
			}
			if !given {
				if password, err = readPassword(c, room); err != nil {
					return err
				}
			}
			ctx, cancel := context.WithTimeout(c.Context(), requestTimeout)
			defer cancel()
			r, err := cl.Join(ctx, room, password)
			if err != nil {
				return explain(err, st)
			}
			fmt.Fprintf(c.OutOrStdout(), "joined room %s (%d members)\n", r.Room, r.Members)
			return nil
		},
	}
	addPasswordFlags(c, "the room password (read from standard input if left out)")
	return c
}

// readPassword reads a password from standard input: a prompt without
// echo on a terminal, else the first line.
func readPassword(c *cobra.Command, room string) (string, error) {
	in := c.InOrStdin()
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(c.ErrOrStderr(), "Password for room %s: ", room)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(c.ErrOrStderr())
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usageError{errors.New("no password: give --password-file, set $SUNOYE_PASSWORD or write it to standard input")}
	}
	return line, nil
}

func newLeaveCmd() *cobra.Command {
	var yes bool
	c := &cobra.Command{
		Use:   "leave ROOM",
		Short: "Leave a room",
		Long: `Leave a room: your presence is cleared and your membership released. A room
whose last member leaves closes.

When no other member is present (last_member in 'sunoye rooms --json'),
leaving would close the room, so leave asks first: on a terminal it asks
y/N (anything but y or yes keeps the room, exit 1); when standard input is
not a terminal it leaves nothing and exits 2, unless --yes is given.
Scripts that may leave a room they are alone in pass --yes.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, a []string) error {
			room, err := roomArg(a[0])
			if err != nil {
				return err
			}
			if !yes {
				if err := confirmLeave(c, room); err != nil {
					return err
				}
			}
			err = call(c, func(ctx context.Context, cl *web.Client) error { return cl.Leave(ctx, room) })
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "left room %s\n", room)
			return nil
		},
	}
	c.Flags().BoolVar(&yes, "yes", false, "leave without asking, even when leaving closes the room")
	return c
}

// confirmLeave asks before leaving room if that would close it (the
// daemon sees no other member present). A room the daemon does not show
// (not joined, or a saved room not reopened yet) is not asked about: the
// leave itself answers for it.
func confirmLeave(c *cobra.Command, room string) error {
	var r web.RoomJSON
	err := call(c, func(ctx context.Context, cl *web.Client) (err error) {
		r, err = cl.Room(ctx, room)
		return err
	})
	var api *web.APIError
	switch {
	case errors.As(err, &api) && api.Code == web.CodeNotJoined:
		return nil
	case err != nil:
		return err
	case !r.LastMember:
		return nil
	}
	in := c.InOrStdin()
	f, ok := in.(*os.File)
	return askLastSeat(in, c.ErrOrStderr(), ok && term.IsTerminal(int(f.Fd())), room)
}

// askLastSeat asks on a terminal (interactive) whether to leave room,
// which leaving closes; without a terminal it refuses, as a usage error.
func askLastSeat(in io.Reader, out io.Writer, interactive bool, room string) error {
	if !interactive {
		return usageError{fmt.Errorf("room %s not left: no other member is present, so leaving would close it; pass --yes to leave all the same", room)}
	}
	fmt.Fprintf(out, "No other member is present in room %s: leaving closes it. Leave? [y/N] ", room)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read the answer: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return fmt.Errorf("room %s not left", room)
}

func newRoomsCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "rooms",
		Short: "List the joined rooms",
		Args:  args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			var rs []web.RoomJSON
			err := call(c, func(ctx context.Context, cl *web.Client) (err error) {
				rs, err = cl.Rooms(ctx)
				return err
			})
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(c.OutOrStdout(), rs)
			}
			if len(rs) == 0 {
				fmt.Fprintln(c.OutOrStdout(), "no rooms joined: sunoye create, or sunoye join ROOM")
				return nil
			}
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ROOM\tMEMBERS\tUNREAD\tSTATE")
			for _, r := range rs {
				state := "connected"
				if !r.Connected {
					state = "reconnecting"
				}
				switch r.Notify {
				case string(rooms.NotifyNone):
					state += ", muted"
				case string(rooms.NotifyMentions):
					state += ", mentions only"
				}
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", r.Room, r.Members, r.Unread, state)
			}
			return tw.Flush()
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, `print a list of {"room":"…","members":N,"unread":N,…}`)
	return c
}

func newSendCmd() *cobra.Command {
	var file string
	c := &cobra.Command{
		Use:   "send ROOM TEXT… | send ROOM --file PATH [TEXT…]",
		Short: "Send a message or a file to a room",
		Long: `Send a message (at most 4096 bytes). The words after the room number are
joined with spaces; '-' reads the text from standard input.

With --file, send a file of at most 8 MiB, the text (if any) as its
caption. It travels encrypted and signed like a message; images (PNG,
JPEG, GIF, WebP) show in the chat window, other files offer a download;
'sunoye save' writes a received file out.`,
		Args: args(func(c *cobra.Command, a []string) error {
			if file != "" {
				return cobra.MinimumNArgs(1)(c, a)
			}
			return cobra.MinimumNArgs(2)(c, a)
		}),
		RunE: func(c *cobra.Command, a []string) error {
			room, err := roomArg(a[0])
			if err != nil {
				return err
			}
			text := strings.Join(a[1:], " ")
			if file != "" {
				return sendFile(c, room, file, text)
			}
			if text == "-" {
				b, err := io.ReadAll(io.LimitReader(c.InOrStdin(), rooms.MaxTextBytes+2))
				if err != nil {
					return fmt.Errorf("read message from standard input: %w", err)
				}
				text = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
			}
			if err := rooms.CheckText(text); err != nil {
				return err
			}
			return call(c, func(ctx context.Context, cl *web.Client) error {
				_, err := cl.Send(ctx, room, text)
				return err
			})
		},
	}
	c.Flags().StringVar(&file, "file", "", "send the file at `PATH` (at most 8 MiB), the text as its caption")
	return c
}

func newTailCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "tail ROOM",
		Short: "Show a room's messages and follow new ones",
		Long: `Print the messages of this session of the room, then follow new ones
until interrupted. With --json, one object a line: room, id, from (display
name), sender (member id), text, ts (RFC 3339 UTC), own, and for a
message with a file, file: {name, type, size} ('sunoye save ROOM ID'
writes it out).`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, a []string) error {
			room, err := roomArg(a[0])
			if err != nil {
				return err
			}
			cl, st, err := client(c)
			if err != nil {
				return err
			}
			out := c.OutOrStdout()
			err = cl.Follow(c.Context(), room, func(m web.MessageJSON) error {
				if asJSON {
					return printJSON(out, m)
				}
				return printMessage(out, m)
			})
			return explain(err, st)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object a line")
	return c
}

// printMessage writes "15:04 Name (member): text", continuation lines indented, and
// control characters made visible so a message cannot rewrite the
// terminal.
func printMessage(w io.Writer, m web.MessageJSON) error {
	ts, err := web.ParseTime(m.TS)
	if err != nil {
		ts = time.Now()
	}
	text := m.Text
	if f := m.File; f != nil {
		text = strings.TrimSpace(fmt.Sprintf("[file %s, %s, %s: sunoye save %s %s] %s", f.Name, f.Type, humanSize(f.Size), m.Room, m.ID, text))
	}
	lines := strings.Split(sanitize(text), "\n")
	from := rooms.Label(m.From, rooms.MemberID(m.Sender))
	_, err = fmt.Fprintf(w, "%s %s: %s\n", ts.Local().Format("15:04"), sanitize(from), strings.Join(lines, "\n      "))
	return err
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' {
			return r
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '\uFFFD'
		}
		return r
	}, s)
}
