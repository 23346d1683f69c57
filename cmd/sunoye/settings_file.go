package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/sunoye/sunoye/db"
	"github.com/sunoye/sunoye/mqttx"
	"github.com/sunoye/sunoye/rooms"
	"github.com/sunoye/sunoye/web"
)

// saveSettings writes the chat UI's settings view into the config file,
// keeping whatever else it holds. An empty Broker or DB is left as it
// is. The file may hold passwords (in the URLs): it is the user's alone.
func saveSettings(path string, in web.SettingsJSON) error {
	if path == "" {
		return errors.New("no config file: set $SUNOYE_CONFIG or $XDG_CONFIG_HOME")
	}
	if in.Broker != "" && !isEmbedded(in.Broker) {
		if _, err := mqttx.New(mqttx.Config{Broker: in.Broker}); err != nil {
			return fmt.Errorf("%w: %w", rooms.ErrInvalid, err)
		}
	}
	if in.DB != "" {
		if err := db.Check(in.DB); err != nil {
			return fmt.Errorf("%w: %w", rooms.ErrInvalid, err)
		}
	}
	conf := map[string]any{}
	if _, err := toml.DecodeFile(path, &conf); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if in.Name != "" {
		conf["name"] = in.Name
	}
	if in.Broker != "" {
		conf["broker"] = in.Broker
	}
	if in.DB != "" {
		conf["db"] = in.DB
	}
	var buf bytes.Buffer
	buf.WriteString("# SunOye settings (flags and SUNOYE_* environment variables take precedence)\n")
	if err := toml.NewEncoder(&buf).Encode(conf); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func isEmbedded(broker string) bool { return strings.HasPrefix(broker, "embedded://") }
