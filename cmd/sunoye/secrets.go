package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sunoye/sunoye/mqttx"
)

// Passwords never need the command line, where every local user can read
// them (ps, /proc/PID/cmdline). Each can come from a file (the first
// line; "-" is standard input) or an environment variable, which only the
// same user can read:
//
//	room password    --password-file FILE         $SUNOYE_PASSWORD
//	broker password  --broker-password-file FILE  $SUNOYE_BROKER_PASSWORD  broker_password_file = "FILE"
//	registry         --db-password-file FILE      $SUNOYE_DB_PASSWORD      db_password_file = "FILE"
//
// The broker and registry passwords complete a URL that names a user but
// no password (ssl://alice@mqtt.example.com:8883); each is taken from its
// flag, else its environment variable, else the config file, like every
// other setting.

// maxSecretBytes bounds what is read of a password file: its first line
// is the password, and a password is at most a few hundred bytes.
const maxSecretBytes = 64 << 10

// readSecretFile returns the first line of path, without its line end;
// "-" reads standard input. An empty first line is an error: a password
// file that holds none is a mistake, not a wish for no password.
func readSecretFile(path string, stdin io.Reader) (string, error) {
	var r io.Reader = stdin
	name := "standard input"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return "", usageError{fmt.Errorf("password file: %w", err)}
		}
		defer f.Close()
		r, name = f, path
	}
	line, err := bufio.NewReader(io.LimitReader(r, maxSecretBytes)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from %s: %w", name, err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", usageError{fmt.Errorf("no password in %s: its first line is empty", name)}
	}
	return line, nil
}

// Room passwords: --password (visible in the process list), --password-file
// and $SUNOYE_PASSWORD.
const (
	passwordEnv      = "SUNOYE_PASSWORD"
	passwordFileFlag = "password-file"
)

// addPasswordFlags adds --password and --password-file to c; flagPassword
// reads them.
func addPasswordFlags(c *cobra.Command, usage string) {
	c.Flags().String("password", "", usage+"; other users can read it in the process list: prefer --password-file or $"+passwordEnv)
	c.Flags().String(passwordFileFlag, "", "read the room password from the first line of FILE ('-' for standard input)")
}

// flagPassword returns the room password given by --password or
// --password-file, if any.
func flagPassword(c *cobra.Command) (password string, ok bool, err error) {
	byFlag, byFile := c.Flags().Changed("password"), c.Flags().Changed(passwordFileFlag)
	switch {
	case byFlag && byFile:
		return "", false, usageError{errors.New("give --password or --password-file, not both")}
	case byFlag:
		p, _ := c.Flags().GetString("password")
		return p, true, nil
	case byFile:
		path, _ := c.Flags().GetString(passwordFileFlag)
		p, err := readSecretFile(path, c.InOrStdin())
		return p, err == nil, err
	}
	return "", false, nil
}

// envPassword returns $SUNOYE_PASSWORD, if set.
func envPassword() (string, bool) {
	p := os.Getenv(passwordEnv)
	return p, p != ""
}

// secretSetting is where the password of the broker URL or of the
// registry DSN may come from, besides the URL itself.
type secretSetting struct {
	flag, env, key string
	what           string // "broker URL", "registry DSN"
	example        string
}

var (
	brokerSecret = secretSetting{flag: "broker-password-file", env: "SUNOYE_BROKER_PASSWORD", key: "broker_password_file", what: "broker URL", example: "ssl://USER@HOST:PORT"}
	dbSecret     = secretSetting{flag: "db-password-file", env: "SUNOYE_DB_PASSWORD", key: "db_password_file", what: "registry DSN", example: "mysql://USER@HOST:PORT/DATABASE"}
)

func addSecretFlags(fs *pflag.FlagSet) {
	fs.String(brokerSecret.flag, "", "read the broker's password from the first line of FILE, for a --broker URL with a user and no password [$"+brokerSecret.env+" holds the password itself]")
	fs.String(dbSecret.flag, "", "read the registry's password from the first line of FILE, for a --db DSN with a user and no password [$"+dbSecret.env+" holds the password itself]")
}

// secretSource is a resolved secretSetting: a file to read or a value,
// and where it came from, for messages.
type secretSource struct {
	from  string
	file  string
	value string
}

// resolveSecret applies flag > environment > config file; configFile is
// the path in the config file (relative to the config file's directory).
func resolveSecret(fs *pflag.FlagSet, s secretSetting, configFile, configDir string) secretSource {
	if f := fs.Lookup(s.flag); f != nil && f.Changed {
		return secretSource{from: "--" + s.flag, file: f.Value.String()}
	}
	if v := os.Getenv(s.env); v != "" {
		return secretSource{from: "$" + s.env, value: v}
	}
	if configFile != "" {
		if !filepath.IsAbs(configFile) && configDir != "" {
			configFile = filepath.Join(configDir, configFile)
		}
		return secretSource{from: s.key + " in the config file", file: configFile}
	}
	return secretSource{}
}

// apply puts the password into raw, a URL that names a user and no
// password. Without a password given it returns raw as it is.
func (src secretSource) apply(s secretSetting, raw string) (string, error) {
	if src.from == "" {
		return raw, nil
	}
	pw, err := src.password()
	if err != nil {
		return "", err
	}
	return src.put(s, raw, pw)
}

// password reads the password (once: the file may be stdin).
func (src secretSource) password() (string, error) {
	if src.file == "" {
		return src.value, nil
	}
	p, err := readSecretFile(src.file, os.Stdin)
	if err != nil {
		return "", fmt.Errorf("%s: %w", src.from, err)
	}
	return p, nil
}

// put puts pw into raw, which must name a user and no password.
func (src secretSource) put(s secretSetting, raw, pw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil || u.User.Username() == "" {
		return "", usageError{fmt.Errorf("%s gives a password, but the %s names no user: write %s", src.from, s.what, s.example)}
	}
	if _, has := u.User.Password(); has {
		return "", usageError{fmt.Errorf("%s gives a password, but the %s has one already: keep only one", src.from, s.what)}
	}
	u.User = url.UserPassword(u.User.Username(), pw)
	return u.String(), nil
}

// brokerURL is the broker URL to connect to: st.Broker with its password
// from --broker-password-file or $SUNOYE_BROKER_PASSWORD, if given.
// In a list of a cluster's nodes, it goes into every URL that names a
// user.
func (st settings) brokerURL() (string, error) {
	nodes := mqttx.SplitBrokers(st.Broker)
	if len(nodes) == 1 || st.brokerPassword.from == "" {
		return st.brokerPassword.apply(brokerSecret, st.Broker)
	}
	pw, err := st.brokerPassword.password()
	if err != nil {
		return "", err
	}
	named := false
	for i, n := range nodes {
		if u, err := url.Parse(n); err != nil || u.User == nil || u.User.Username() == "" {
			continue
		}
		named = true
		if nodes[i], err = st.brokerPassword.put(brokerSecret, n, pw); err != nil {
			return "", err
		}
	}
	if !named {
		return st.brokerPassword.put(brokerSecret, nodes[0], pw) // its error: no user
	}
	return strings.Join(nodes, ","), nil
}

// dbDSN is the registry DSN to open: st.DB with its password from
// --db-password-file or $SUNOYE_DB_PASSWORD, if given.
// A DSN of several hosts (one database's servers) gets it as one does.
func (st settings) dbDSN() (string, error) {
	return onFirstHost(st.DB, func(dsn string) (string, error) { return st.dbPassword.apply(dbSecret, dsn) })
}
