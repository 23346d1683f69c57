package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/sunoye/sunoye/internal/roomstest"
	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
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
	edited.DB = strings.Replace(shown.DB, "/sunoye?", "/sunoye2?", 1) // another database on the same server, password left masked
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
	if got.DB != "mysql://alice:db-secret@db.example:3306/sunoye2?tls=true" {
		t.Errorf("db saved as %q, want the new database with the old password and parameters", got.DB)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("config file mode: %v, %v; want 0600", fi.Mode(), err)
	}
}

// A masked password goes back only to the server it came from: the URL
// edited to another host, port, scheme, user or parameters (another CA,
// TLS off) is refused with a request for the password, and the config
// file keeps what it had.
func TestSettingsMaskedPasswordStaysWithItsServer(t *testing.T) {
	cur := settings{
		Broker: "ssl://alice:br0ker-secret@127.0.0.1:8883?ca=/etc/sunoye/ca.pem",
		DB:     "mysql://alice:db-secret@127.0.0.1:3306/sunoye?tls=true",
	}
	path := filepath.Join(t.TempDir(), "config.toml")
	before := []byte("broker = '" + cur.Broker + "'\ndb = '" + cur.DB + "'\n")
	if err := os.WriteFile(path, before, 0o600); err != nil {
		t.Fatal(err)
	}
	shownBroker, shownDB := showURL(cur.Broker), showURL(cur.DB)
	for _, c := range []struct {
		name   string
		in     web.SettingsJSON
		secret string
	}{
		{"broker on another port", web.SettingsJSON{Broker: strings.Replace(shownBroker, ":8883", ":9999", 1)}, "br0ker-secret"},
		{"broker on another host", web.SettingsJSON{Broker: strings.Replace(shownBroker, "127.0.0.1", "evil.example", 1)}, "br0ker-secret"},
		{"broker without TLS", web.SettingsJSON{Broker: strings.Replace(shownBroker, "ssl://", "tcp://", 1)}, "br0ker-secret"},
		{"broker trusting another CA", web.SettingsJSON{Broker: strings.Replace(shownBroker, "ca.pem", "evil.pem", 1)}, "br0ker-secret"},
		{"broker with another user", web.SettingsJSON{Broker: strings.Replace(shownBroker, "alice", "bob", 1)}, "br0ker-secret"},
		{"broker with a password where there was none", web.SettingsJSON{Broker: "tcp://alice:xxxxx@127.0.0.1:1883"}, "xxxxx"},
		{"database on another port", web.SettingsJSON{DB: strings.Replace(shownDB, ":3306", ":3307", 1)}, "db-secret"},
		{"database on another host", web.SettingsJSON{DB: strings.Replace(shownDB, "127.0.0.1", "db.evil.example", 1)}, "db-secret"},
		{"database without TLS", web.SettingsJSON{DB: strings.Replace(shownDB, "?tls=true", "", 1)}, "db-secret"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.in.Name = "Alice"
			err := saveSettings(path, c.in, cur)
			if !errors.Is(err, rooms.ErrInvalid) || !strings.Contains(err.Error(), "type its password") {
				t.Errorf("saved %+v: %v; want it refused, asking for the password", c.in, err)
			}
			if err != nil && strings.Contains(err.Error(), c.secret) && c.secret != "xxxxx" {
				t.Errorf("the error shows the password: %v", err)
			}
			if after, _ := os.ReadFile(path); string(after) != string(before) {
				t.Errorf("the config file changed:\n%s", after)
			}
		})
	}
	// With the password typed, the new server is saved.
	if err := saveSettings(path, web.SettingsJSON{Name: "Alice", Broker: "tcp://alice:new-secret@127.0.0.1:9999"}, cur); err != nil {
		t.Errorf("a new broker with its password: %v", err)
	}
}

// The attack on the settings view as it was: a page (or anyone) holding
// a chat UI session posts the shown broker URL with another port; the
// daemon must not write its broker password there for the next start.
func TestSettingsViewKeepsThePasswordFromAnotherServer(t *testing.T) {
	config := filepath.Join(t.TempDir(), "config.toml")
	t.Setenv("SUNOYE_CONFIG", config)
	st := settings{
		Broker: "tcp://alice:br0ker-secret@127.0.0.1:1883",
		DB:     "mysql://alice:db-secret@127.0.0.1:3306/sunoye",
	}
	svc := roomstest.NewService(t, roomstest.Config{Name: "Alice", Broker: roomstest.StartBroker(t), DB: "sqlite://" + filepath.Join(t.TempDir(), "r.db")})
	log := testenv.TestLogger(t)
	ui, err := web.NewUI(svc, web.NewServer(svc, web.Info{}, log), settingsView(web.UIOptions{Logger: log}, svc, st))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- ui.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-served })
	status, origin, s := exchangeLaunch(t, ui.LaunchURL(web.View{Kind: web.ViewSettings}))
	if status != http.StatusCreated {
		t.Fatalf("session: %d", status)
	}
	post := func(body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, origin+"/v1/settings", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+s.Session)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, body := range []string{
		`{"name":"Alice","broker":"tcp://alice:xxxxx@127.0.0.1:9999"}`,
		`{"name":"Alice","db":"mysql://alice:xxxxx@127.0.0.1:3307/sunoye"}`,
	} {
		code, answer := post(body)
		if code != http.StatusBadRequest || !strings.Contains(answer, "type its password") {
			t.Errorf("POST %s: %d %s; want 400 asking for the password", body, code, answer)
		}
		if strings.Contains(answer, "secret") {
			t.Errorf("the answer shows a password: %s", answer)
		}
		if b, _ := os.ReadFile(config); strings.Contains(string(b), "secret") {
			t.Errorf("after POST %s the config file holds a password:\n%s", body, b)
		}
	}
	// The shown URL, sent back as it is, changes nothing; with the path
	// edited, the password stays with its server.
	if code, answer := post(`{"name":"Alice","db":"mysql://alice:xxxxx@127.0.0.1:3306/other"}`); code != http.StatusOK {
		t.Errorf("another database on the same server: %d %s", code, answer)
	}
	if b, _ := os.ReadFile(config); !strings.Contains(string(b), "mysql://alice:db-secret@127.0.0.1:3306/other") {
		t.Errorf("config file after changing the database:\n%s", b)
	}
}

// A broker list (a cluster's nodes) is shown with every node's password
// masked, and saved with each node's own password back where it was left
// masked; a node that is new to the list needs its password typed.
func TestSettingsBrokerList(t *testing.T) {
	cur := "ssl://alice:n0de-secret@n1:8883,ssl://alice:n0de-secret@n2:8883"
	shown := showBroker(cur)
	if want := "ssl://alice:xxxxx@n1:8883,ssl://alice:xxxxx@n2:8883"; shown != want {
		t.Fatalf("shown %q, want %q", shown, want)
	}
	got, err := withBrokerPasswords(shown, cur)
	if err != nil || got != cur {
		t.Errorf("saved unchanged: %q, %v; want %q", got, err, cur)
	}
	swapped := "ssl://alice:xxxxx@n2:8883,ssl://alice:xxxxx@n1:8883"
	if got, err := withBrokerPasswords(swapped, cur); err != nil || strings.Count(got, "n0de-secret") != 2 {
		t.Errorf("reordered: %q, %v; want both passwords kept", got, err)
	}
	if _, err := withBrokerPasswords(shown+",ssl://alice:xxxxx@n3:8883", cur); !errors.Is(err, rooms.ErrInvalid) {
		t.Errorf("a new node with a masked password: %v, want ErrInvalid asking for it", err)
	}
	if err := saveSettings(filepath.Join(t.TempDir(), "c.toml"), web.SettingsJSON{Broker: "embedded://127.0.0.1:1883,tcp://n2"}, settings{}); !errors.Is(err, rooms.ErrInvalid) {
		t.Errorf("embedded:// in a list saved: %v", err)
	}
}
