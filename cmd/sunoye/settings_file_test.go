package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/sunoye/sunoye/web"
)

// The settings view shows URLs without their passwords but with their
// parameters, and saving what it showed keeps both.
func TestSettingsRoundTrip(t *testing.T) {
	cur := settings{
		Broker: "wss://alice:br0ker-secret@mqtt.example/mqtt?client=desktop",
		DB:     "mysql://alice:db-secret@db.example:3306/sunoye?tls=true",
	}
	shown := web.SettingsJSON{Name: "Alice", Broker: showURL(cur.Broker), DB: showURL(cur.DB)}
	for _, u := range []string{shown.Broker, shown.DB} {
		if strings.Contains(u, "secret") || !strings.Contains(u, "xxxxx") {
			t.Errorf("shown %q: the password must be masked", u)
		}
	}
	if !strings.Contains(shown.DB, "tls=true") || !strings.Contains(shown.Broker, "client=desktop") {
		t.Errorf("shown %q, %q: parameters lost", shown.Broker, shown.DB)
	}

	path := filepath.Join(t.TempDir(), "config.toml")
	edited := shown
	edited.DB = strings.Replace(shown.DB, "db.example", "db2.example", 1) // host edited, password left masked
	if err := saveSettings(path, edited, cur); err != nil {
		t.Fatal(err)
	}
	var got settings
	if _, err := toml.DecodeFile(path, &got); err != nil {
		t.Fatal(err)
	}
	if got.Broker != cur.Broker {
		t.Errorf("broker saved as %q, want it unchanged", got.Broker)
	}
	if got.DB != "mysql://alice:db-secret@db2.example:3306/sunoye?tls=true" {
		t.Errorf("db saved as %q, want the new host with the old password and parameters", got.DB)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("config file mode: %v, %v; want 0600", fi.Mode(), err)
	}
	// A new user name does not inherit the old password.
	other := shown
	other.Broker = strings.Replace(shown.Broker, "alice", "bob", 1)
	if err := saveSettings(path, other, cur); err != nil {
		t.Fatal(err)
	}
	toml.DecodeFile(path, &got)
	if strings.Contains(got.Broker, "br0ker-secret") {
		t.Errorf("bob got alice's broker password: %q", got.Broker)
	}
}
