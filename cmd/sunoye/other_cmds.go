package main

import (
	"fmt"
	"runtime/debug"

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

func newDBCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "db",
		Short: "Manage the room registry",
	}
	c.AddCommand(&cobra.Command{
		Use:   "migrate",
		Short: "Create or update the registry's tables (idempotent)",
		Long:  "Apply schema.sql to the registry named by --db. Safe to run again; the daemon also does it at start.",
		Args:  args(cobra.NoArgs),
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
	return c
}
