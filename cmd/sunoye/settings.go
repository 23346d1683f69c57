package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/BurntSushi/toml"
	"github.com/spf13/pflag"

	"github.com/sunoye/sunoye/db"
)

// settings are the global settings. Each comes from its flag, else its
// environment variable, else the config file, else the default.
type settings struct {
	Broker   string `toml:"broker"`
	DB       string `toml:"db"`
	Name     string `toml:"name"`
	StateDir string `toml:"state_dir"`
	LogLevel string `toml:"log_level"`

	// BrokerPasswordFile and DBPasswordFile are only read from the config
	// file; see secrets.go for their flags and environment variables.
	BrokerPasswordFile string `toml:"broker_password_file"`
	DBPasswordFile     string `toml:"db_password_file"`

	// brokerPassword and dbPassword are where the passwords of Broker and
	// DB come from when the URLs name a user but no password; brokerURL
	// and dbDSN apply them.
	brokerPassword, dbPassword secretSource
}

// defaultBroker starts the embedded broker on loopback: zero setup.
const defaultBroker = "embedded://127.0.0.1:1883"

type setting struct {
	flag, env, usage string
	field            func(*settings) *string
}

var allSettings = []setting{
	{"broker", "SUNOYE_BROKER", "MQTT broker URL: tcp://, ssl://, ws://, wss:// (user:password@ allowed); a cluster's nodes as a comma-separated list of such URLs (the first that answers is used, the next when its node is lost); or embedded://HOST:PORT to start the built-in one (default " + defaultBroker + ")", func(s *settings) *string { return &s.Broker }},
	{"db", "SUNOYE_DB", "room registry: mysql://USER:PASSWORD@HOST:PORT[,HOST:PORT…]/DATABASE[?tls=true…] (several hosts: nodes of one cluster, tried in turn) or sqlite:///PATH (default: sqlite in the state directory)", func(s *settings) *string { return &s.DB }},
	{"name", "SUNOYE_NAME", "display name shown to other members (default: your login name)", func(s *settings) *string { return &s.Name }},
	{"state-dir", "SUNOYE_STATE_DIR", "state directory: the daemon's socket, lock and joined rooms (default $XDG_STATE_HOME/sunoye)", func(s *settings) *string { return &s.StateDir }},
	{"log-level", "SUNOYE_LOG_LEVEL", "log level of the daemon: debug, info, warn or error", func(s *settings) *string { return &s.LogLevel }},
}

func addSettingFlags(fs *pflag.FlagSet) {
	for _, s := range allSettings {
		fs.String(s.flag, "", s.usage+" [$"+s.env+"]")
	}
	addSecretFlags(fs)
}

// configPath is the config file: $SUNOYE_CONFIG, else
// $XDG_CONFIG_HOME/sunoye/config.toml.
func configPath() string {
	if p := os.Getenv("SUNOYE_CONFIG"); p != "" {
		return p
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "sunoye", "config.toml")
}

// resolveSettings applies flag > environment > config file > default.
func resolveSettings(fs *pflag.FlagSet) (settings, error) {
	var file settings
	p := configPath()
	if p != "" {
		md, err := toml.DecodeFile(p, &file)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return settings{}, usageError{fmt.Errorf("config file %s: %w", p, err)}
		default:
			if undec := md.Undecoded(); len(undec) > 0 {
				return settings{}, usageError{fmt.Errorf("config file %s: unknown setting %q", p, undec[0].String())}
			}
		}
	}
	var out settings
	for _, s := range allSettings {
		v := *s.field(&file)
		if e := os.Getenv(s.env); e != "" {
			v = e
		}
		if f := fs.Lookup(s.flag); f != nil && f.Changed {
			v = f.Value.String()
		}
		*s.field(&out) = v
	}
	out.brokerPassword = resolveSecret(fs, brokerSecret, file.BrokerPasswordFile, filepath.Dir(p))
	out.dbPassword = resolveSecret(fs, dbSecret, file.DBPasswordFile, filepath.Dir(p))
	if out.StateDir == "" {
		dir, err := defaultStateDir()
		if err != nil {
			return settings{}, err
		}
		out.StateDir = dir
	}
	abs, err := filepath.Abs(out.StateDir)
	if err != nil {
		return settings{}, fmt.Errorf("state directory %s: %w", out.StateDir, err)
	}
	out.StateDir = abs
	if out.Broker == "" {
		out.Broker = defaultBroker
	}
	if out.DB == "" {
		out.DB = db.SQLiteDSN(filepath.Join(out.StateDir, "registry.db"))
	}
	if out.Name == "" {
		out.Name = defaultName()
	}
	return out, nil
}

func defaultStateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "sunoye"), nil
	}
	if runtime.GOOS == "windows" {
		// %LocalAppData%: per user, per machine, private by its ACL.
		d, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("no state directory: set --state-dir or $SUNOYE_STATE_DIR: %w", err)
		}
		return filepath.Join(d, "SunOye"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no state directory: set --state-dir or $SUNOYE_STATE_DIR: %w", err)
	}
	return filepath.Join(home, ".local", "state", "sunoye"), nil
}

func defaultName() string {
	for _, v := range []string{"USER", "LOGNAME", "USERNAME"} {
		if n := os.Getenv(v); n != "" {
			return n
		}
	}
	return "guest"
}
