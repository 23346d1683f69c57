package mqttx

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/sunoye/sunoye/internal/testenv"
)

func TestWebSocket(t *testing.T) {
	m := testenv.StartMosquitto(t)
	room := unique("room/")
	for _, u := range []string{m.WSURL(), m.WSURL() + "/mqtt"} {
		ws := open(t, newTransport(t, testConfig(u)), unique("ws-"), []string{room + "/#"})
		tcp := open(t, newTransport(t, testConfig(m.URL())), unique("tcp-"), []string{room + "/#"})
		publish(t, ws, room+"/from-ws", "a", false)
		publish(t, tcp, room+"/from-tcp", "b", false)
		tcp.waitTopic(t, room+"/from-ws")
		ws.waitTopic(t, room+"/from-tcp")
	}
}

func TestTLSAndCredentials(t *testing.T) {
	m := testenv.StartMosquittoTLS(t)
	withUser := func(raw, user, password string) string {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword(user, password)
		return u.String()
	}
	mqtts := strings.Replace(m.URL(), "ssl://", "mqtts://", 1)
	ok := []struct {
		name string
		cfg  Config
	}{
		{"ssl, credentials in Config", Config{Broker: m.URL(), CAFile: m.CAFile, Username: m.Username, Password: m.Password}},
		{"mqtts, credentials in URL", Config{Broker: withUser(mqtts, m.Username, m.Password), CAFile: m.CAFile}},
		{"Config overrides URL", Config{Broker: withUser(m.URL(), "nobody", "wrong"), CAFile: m.CAFile, Username: m.Username, Password: m.Password}},
		{"wss", Config{Broker: m.WSURL(), CAFile: m.CAFile, Username: m.Username, Password: m.Password}},
		// All in the URL, as a user types it on the command line.
		{"ssl, CA and credentials in URL", Config{Broker: withUser(m.URL(), m.Username, m.Password) + "?ca=" + url.QueryEscape(m.CAFile)}},
	}
	room := unique("room/")
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(tt.cfg.Broker)
			cfg.CAFile, cfg.Username, cfg.Password = tt.cfg.CAFile, tt.cfg.Username, tt.cfg.Password
			s := open(t, newTransport(t, cfg), unique("c-"), []string{room + "/#"})
			publish(t, s, room+"/x", "over TLS", false)
			s.waitTopic(t, room+"/x")
		})
	}

	bad := []struct {
		name    string
		cfg     Config
		is      error
		mention string
	}{
		{"wrong password", Config{Broker: m.URL(), CAFile: m.CAFile, Username: m.Username, Password: "not-the-password"},
			ErrBadCredentials, "user name or password"},
		{"wrong password in URL", Config{Broker: withUser(m.URL(), m.Username, "not-the-password"), CAFile: m.CAFile},
			ErrBadCredentials, "user name or password"},
		{"no credentials", Config{Broker: m.URL(), CAFile: m.CAFile}, ErrBadCredentials, "user name or password"},
		{"unknown CA", Config{Broker: m.URL(), Username: m.Username, Password: m.Password}, ErrUnreachable, "CA file"},
		{"unknown CA over wss", Config{Broker: m.WSURL(), Username: m.Username, Password: m.Password}, ErrUnreachable, "CA file"},
		{"plain MQTT to TLS", Config{Broker: strings.Replace(m.URL(), "ssl://", "tcp://", 1), Username: m.Username, Password: m.Password},
			ErrUnreachable, "unreachable"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(tt.cfg.Broker)
			cfg.CAFile, cfg.Username, cfg.Password = tt.cfg.CAFile, tt.cfg.Username, tt.cfg.Password
			_, err := newTransport(t, cfg).Open(ctx(t), sessionConfig())
			if err == nil {
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			t.Log(msg)
			if !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", msg, tt.is)
			}
			if !strings.Contains(msg, "broker "+Redact(tt.cfg.Broker)+": ") {
				t.Errorf("error %q does not name the broker", msg)
			}
			if !strings.Contains(msg, tt.mention) {
				t.Errorf("error %q does not mention %q", msg, tt.mention)
			}
			if strings.Contains(msg, "not-the-password") || strings.Contains(msg, m.Password) {
				t.Errorf("error %q shows a password", msg)
			}
		})
	}
}

func TestCAFile(t *testing.T) {
	m := testenv.StartMosquittoTLS(t)
	for _, tt := range []struct{ name, file, want string }{
		{"missing", "/nonexistent/ca.pem", "no such file"},
		{"not PEM", "tls_test.go", "no PEM certificate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{Broker: m.URL(), CAFile: tt.file})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error saying %q", err, tt.want)
			}
		})
	}
}
