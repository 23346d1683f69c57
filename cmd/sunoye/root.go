package main

import (
	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "sunoye",
		Short: "End-to-end encrypted chat rooms over MQTT",
		Long: `SunOye: chat rooms you join with a room number and a password.

Messages travel over MQTT, end-to-end encrypted with a key derived from the
room password: the broker sees only ciphertext. Rooms are ephemeral: nothing
of a conversation is stored, and a room whose last member leaves closes.

'sunoye up' runs the daemon, which keeps your rooms' subscriptions alive.
Every other command talks to the running daemon.

Settings come from flags, else environment variables (SUNOYE_BROKER,
SUNOYE_DB, SUNOYE_NAME, SUNOYE_STATE_DIR), else the config file
($XDG_CONFIG_HOME/sunoye/config.toml, keys broker, db, name, state_dir).

Passwords need no command line, where other users can read them: the
broker's and the registry's come from --broker-password-file and
--db-password-file (or $SUNOYE_BROKER_PASSWORD and $SUNOYE_DB_PASSWORD, or
the config keys broker_password_file and db_password_file) for URLs that
name a user but no password; a room's from --password-file or
$SUNOYE_PASSWORD.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	addSettingFlags(root.PersistentFlags())
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newUpCmd(),
		newCreateCmd(),
		newJoinCmd(),
		newLeaveCmd(),
		newRoomsCmd(),
		newSendCmd(),
		newTailCmd(),
		newSaveCmd(),
		newOpenCmd(),
		newMuteCmd(true),
		newMuteCmd(false),
		newNotifyCmd(),
		newDNDCmd(),
		newDoctorCmd(),
		newDesktopCmd(),
		newBrokerCmd(),
		newDBCmd(),
		newVersionCmd(),
		newManCmd(),
	)
	return root
}

// args wraps a cobra positional-argument check so its error is a usage
// error (exit code 2).
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(c *cobra.Command, a []string) error {
		if err := check(c, a); err != nil {
			return usageError{err}
		}
		return nil
	}
}
