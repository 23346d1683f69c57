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
// it masked, if edited still points at the server old does: the same
// scheme, user, host, port and parameters (TLS and its CA among them);
// only the path (the database, a websocket path) may change. Otherwise a
// masked password is refused with an error that wraps rooms.ErrInvalid and
// asks for the password: whoever edits the URL must know it to send it
// elsewhere, and the view never shows it.
func withPassword(what, edited, old string) (string, error) {
	e, err := url.Parse(edited)
	if err != nil || e.User == nil {
		return edited, nil
	}
	if p, has := e.User.Password(); !has || p != maskedPassword {
		return edited, nil
	}
	o, err := url.Parse(old)
	if err == nil && o.User != nil && sameServer(e, o) {
		if op, has := o.User.Password(); has {
			e.User = url.UserPassword(o.User.Username(), op)
			return e.String(), nil
		}
	}
	e.User = url.User(e.User.Username())
	return "", fmt.Errorf("%w: the %s's password is shown masked (%s), and stays only with the server, user and parameters it belongs to: "+
		"to use %s, type its password in place of %s", rooms.ErrInvalid, what, maskedPassword, e.String(), maskedPassword)
}

// sameServer reports whether a and b name the same server, user and
// parameters: where a password for b may go.
func sameServer(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && a.Port() == b.Port() &&
		a.User.Username() == b.User.Username() && a.RawQuery == b.RawQuery
}

// saveSettings writes the chat UI's settings view into the config file,
// keeping whatever else it holds. An empty Broker or DB is left as it
// is; a masked password is the current one (cur), for the current server
// only (see withPassword). The file may hold passwords (in the URLs): it
// is the user's alone.
func saveSettings(path string, in web.SettingsJSON, cur settings) error {
	var err error
	if in.Broker != "" {
		if in.Broker, err = withBrokerPasswords(in.Broker, cur.Broker); err != nil {
			return err
		}
	}
	if in.DB != "" {
		if in.DB, err = withPassword("database", in.DB, cur.DB); err != nil {
			return err
		}
	}
	if path == "" {
		return errors.New("no config file: set $SUNOYE_CONFIG or $XDG_CONFIG_HOME")
	}
	if err := checkEmbedded(in.Broker); err != nil {
		return fmt.Errorf("%w: %w", rooms.ErrInvalid, err)
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

// settingsView returns opt with the callbacks of the chat UI's settings
// view: it shows the settings the daemon started with (st), passwords
// masked, and saves to the config file.
func settingsView(opt web.UIOptions, svc *rooms.Service, st settings) web.UIOptions {
	opt.LoadSettings = func() web.SettingsJSON {
		return web.SettingsJSON{Name: svc.Name(), Broker: showBroker(st.Broker), DB: showURL(st.DB)}
	}
	opt.SaveSettings = func(s web.SettingsJSON) error { return saveSettings(configPath(), s, st) }
	return opt
}

// showBroker is showURL for each URL of a broker list.
func showBroker(raw string) string {
	nodes := mqttx.SplitBrokers(raw)
	for i, n := range nodes {
		nodes[i] = showURL(n)
	}
	return strings.Join(nodes, ",")
}

// withBrokerPasswords is withPassword for each URL of a broker list: a
// masked password is the one of the node of the current list that is the
// same server.
func withBrokerPasswords(edited, old string) (string, error) {
	nodes := mqttx.SplitBrokers(edited)
	if len(nodes) == 1 {
		return withPassword("broker", edited, old)
	}
	olds := mqttx.SplitBrokers(old)
	for i, n := range nodes {
		var err error
		for _, o := range olds {
			if nodes[i], err = withPassword("broker", n, o); err == nil {
				break
			}
		}
		if err != nil {
			return "", err
		}
	}
	return strings.Join(nodes, ","), nil
}

func isEmbedded(broker string) bool { return strings.HasPrefix(broker, "embedded://") }
