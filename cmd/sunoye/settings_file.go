package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/sunoye/sunoye/db"
	"github.com/sunoye/sunoye/mqttx"
	"github.com/sunoye/sunoye/rooms"
	"github.com/sunoye/sunoye/web"
)

// maskedPassword stands for a password in the URLs the settings view
// shows: the view never gets passwords, and one it sends back unchanged
// means "keep the one there is".
const maskedPassword = "xxxxx"

// showURL is a broker URL or registry DSN as the settings view shows it:
// everything but the password, which is masked. Query parameters stay
// (tls=true, ca=…): dropping them would lose them on save.
func showURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return mqttx.Redact(raw) // masks whatever could be a password
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), maskedPassword)
		}
	}
	return u.String()
}

// withPassword puts old's password back into edited where the view left
// it masked and the user name is the same.
func withPassword(edited, old string) string {
	e, err1 := url.Parse(edited)
	o, err2 := url.Parse(old)
	if err1 != nil || err2 != nil || e.User == nil || o.User == nil {
		return edited
	}
	if p, has := e.User.Password(); !has || p != maskedPassword || e.User.Username() != o.User.Username() {
		return edited
	}
	op, _ := o.User.Password()
	e.User = url.UserPassword(o.User.Username(), op)
	return e.String()
}

// saveSettings writes the chat UI's settings view into the config file,
// keeping whatever else it holds. An empty Broker or DB is left as it
// is; a masked password is the current one (cur). The file may hold
// passwords (in the URLs): it is the user's alone.
func saveSettings(path string, in web.SettingsJSON, cur settings) error {
	if in.Broker != "" {
		in.Broker = withPassword(in.Broker, cur.Broker)
	}
	if in.DB != "" {
		in.DB = withPassword(in.DB, cur.DB)
	}
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
