package main

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sunoye/sunoye/db"
	"github.com/sunoye/sunoye/mqttx"
)

// buildVersion is set at link time (-ldflags "-X main.buildVersion=…").
var buildVersion = ""

func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  args(cobra.NoArgs),
		Run: func(c *cobra.Command, _ []string) {
			fmt.Fprintln(c.OutOrStdout(), "sunoye", version())
		},
	}
}

func newBrokerCmd() *cobra.Command {
	var listen string
	c := &cobra.Command{
		Use:   "broker",
		Short: "Run the embedded MQTT broker on its own",
		Long: `Run SunOye's embedded MQTT broker (MQTT 3.1.1 and 5 over TCP), for a LAN
or a lab. It accepts every client: SunOye's messages are end-to-end encrypted
anyway, but on an untrusted network prefer a broker with TLS and accounts.
Point the daemons at it with --broker tcp://HOST:PORT.`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			st, err := resolveSettings(c.Flags())
			if err != nil {
				return err
			}
			log, err := newLogger(st.LogLevel)
			if err != nil {
				return err
			}
			b, err := mqttx.NewBroker(listen, log)
			if err != nil {
				return err
			}
			if err := b.Start(); err != nil {
				return err
			}
			defer b.Close()
			fmt.Fprintf(c.OutOrStdout(), "broker listening on %s (clients: --broker %s)\n", b.Addr(), b.URL())
			<-c.Context().Done()
			return nil
		},
	}
	c.Flags().StringVar(&listen, "listen", mqttx.DefaultBrokerAddr, "address to listen on; 0.0.0.0:1883 opens it to the network")
	return c
}

// newGroupCmd returns a command that only holds subcommands. Run alone, it
// prints its help; with an argument that names none of them, it is a
// usage error (exit code 2), where cobra by itself would print the help
// and succeed.
func newGroupCmd(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  args(cobra.NoArgs),
		RunE:  func(c *cobra.Command, _ []string) error { return c.Help() },
	}
}

func newDBCmd() *cobra.Command {
	c := newGroupCmd("db", "Manage the room registry")
	c.AddCommand(&cobra.Command{
		Use:   "migrate",
		Short: "Create or update the registry's tables and procedures (idempotent)",
		Long: `Apply schema.sql to the registry named by --db, or upgrade it from an
earlier version. Safe to run again. On MySQL, run it with an administrator's
DSN: the account creates the tables and the stored procedures, which then run
with its rights. A daemon whose account may change the schema does this at
start too; one on a member's account (see 'sunoye db grant') only checks the
version.`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			st, err := resolveSettings(c.Flags())
			if err != nil {
				return err
			}
			dsn, err := st.dbDSN()
			if err != nil {
				return err
			}
			reg, err := db.Open(c.Context(), dsn)
			if err != nil {
				return err
			}
			defer reg.Close()
			fmt.Fprintf(c.OutOrStdout(), "registry %s: schema up to date\n", db.Redact(st.DB))
			return nil
		},
	})
	c.AddCommand(&cobra.Command{
		Use:   "grant USER@HOST",
		Short: "Print the GRANT statements for a member's MySQL account",
		Long: `Print the statements with which an administrator gives the MySQL account
USER@HOST (HOST % for any) what a SunOye daemon needs on the registry named
by --db, and nothing more: EXECUTE on each of the registry's stored
procedures. The account cannot read or change the tables; the procedures
enforce the registry's rules. Nothing but the statements is printed, so
that the output can be piped to the mysql client:

  sunoye db grant 'alice@%' | mysql -h db.example.com -u admin -p sunoye

Create the account first (CREATE USER), and the schema ('sunoye db migrate').`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, a []string) error {
			user, host, ok := cutLast(a[0], "@")
			if !ok {
				return usageError{fmt.Errorf("%q: name the account as USER@HOST (any host: USER@%%)", a[0])}
			}
			st, err := resolveSettings(c.Flags())
			if err != nil {
				return err
			}
			stmts, err := db.Grants(st.DB, user, host)
			if err != nil {
				return usageError{err}
			}
			for _, s := range stmts {
				fmt.Fprintln(c.OutOrStdout(), s)
			}
			return nil
		},
	})
	return c
}

// cutLast slices s around the last sep, as strings.Cut does around the
// first: a MySQL user name may contain @, a host name not.
func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}
