package mqttx

import (
	"errors"
	"strings"
	"testing"
)

func TestParseBrokerURL(t *testing.T) {
	tests := []struct {
		in       string
		dial     string
		tls      bool
		user     string
		password string
	}{
		{in: "tcp://127.0.0.1:1883", dial: "tcp://127.0.0.1:1883"},
		{in: "tcp://broker.lan", dial: "tcp://broker.lan:1883"},
		{in: "  mqtt://broker.lan:1884/ ", dial: "mqtt://broker.lan:1884"},
		{in: "TCP://Broker.lan", dial: "tcp://Broker.lan:1883"},
		{in: "ssl://broker.example:8883", dial: "ssl://broker.example:8883", tls: true},
		{in: "mqtts://broker.example", dial: "mqtts://broker.example:8883", tls: true},
		{in: "ws://127.0.0.1:9001", dial: "ws://127.0.0.1:9001"},
		{in: "ws://127.0.0.1/mqtt", dial: "ws://127.0.0.1:80/mqtt"},
		{in: "wss://broker.example/mqtt", dial: "wss://broker.example:443/mqtt", tls: true},
		{in: "tcp://[::1]:1883", dial: "tcp://[::1]:1883"},
		{in: "tcp://[::1]", dial: "tcp://[::1]:1883"},
		{in: "tcp://alice:s3cret@127.0.0.1:1883", dial: "tcp://127.0.0.1:1883", user: "alice", password: "s3cret"},
		{in: "ssl://alice:p%40ss%3Aword@h", dial: "ssl://h:8883", tls: true, user: "alice", password: "p@ss:word"},
		{in: "tcp://bob@h:1", dial: "tcp://h:1", user: "bob"},
		{in: "ssl://alice:pw@h?ca=%2Fetc%2Fca.pem", dial: "ssl://h:8883", tls: true, user: "alice", password: "pw"},
		{in: "wss://h/mqtt?ca=/etc/ca.pem&x=1", dial: "wss://h:443/mqtt?x=1", tls: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, err := parseBrokerURL(tt.in)
			if err != nil {
				t.Fatalf("parseBrokerURL: %v", err)
			}
			if got := u.dial.String(); got != tt.dial {
				t.Errorf("dial URL = %q, want %q", got, tt.dial)
			}
			if u.tls != tt.tls || u.user != tt.user || u.password != tt.password {
				t.Errorf("tls, user, password = %v, %q, %q; want %v, %q, %q",
					u.tls, u.user, u.password, tt.tls, tt.user, tt.password)
			}
			if tt.password != "" && strings.Contains(u.redacted, tt.password) {
				t.Errorf("redacted URL %q shows the password", u.redacted)
			}
		})
	}
}

func TestParseBrokerURLErrors(t *testing.T) {
	tests := []struct {
		in   string
		want string // in the error
	}{
		{"", "empty"},
		{"127.0.0.1:1883", "no scheme"},
		{"broker.lan", "no scheme"},
		{"http://broker.lan", `unknown scheme "http"`},
		{"unix:///run/mqtt.sock", `unknown scheme "unix"`},
		{"tcp://", "no host"},
		{"tcp://:1883", "no host"},
		{"tcp://h:", "empty port"},
		{"tcp://h:0", `bad port "0"`},
		{"tcp://h:70000", `bad port "70000"`},
		{"tcp://h:port", "invalid port"},
		{"tcp://127.0.0.1:1883:1", `bad host "127.0.0.1:1883:1"`},
		{"tcp://h:1883/room", "only meaningful with ws"},
		{"tcp://h:1883?x=1", "only meaningful with ws"},
		{"ws://h/x#frag", "fragment"},
		{"tcp://h?ca=/etc/ca.pem", "ca= is for TLS brokers"},
		{"ssl://h?ca=/etc/ca.pem&x=1", "only meaningful with ws"},
		{"tcp://alice:s3cret@h:bad", "invalid port"},
		{"tcp://alice:s3c ret@h:1883", "invalid userinfo"},
		{"tcp://h\x01:1883", "invalid control character"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := New(Config{Broker: tt.in})
			if err == nil {
				t.Fatal("New succeeded")
			}
			msg := err.Error()
			if !errors.Is(err, ErrBadURL) {
				t.Errorf("error %q does not wrap ErrBadURL", msg)
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not say %q", msg, tt.want)
			}
			if !strings.Contains(msg, URLForms) {
				t.Errorf("error %q does not list the accepted forms", msg)
			}
			if strings.Contains(msg, "s3cret") || strings.Contains(msg, "s3c ret") {
				t.Errorf("error %q shows the password", msg)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"tcp://127.0.0.1:1883", "tcp://127.0.0.1:1883"},
		{"tcp://alice@h:1883", "tcp://alice@h:1883"},
		{"tcp://alice:s3cret@h:1883", "tcp://alice:xxxxx@h:1883"},
		{"wss://alice:s3cret@h/mqtt", "wss://alice:xxxxx@h/mqtt"},
		// Unparsable: whatever may be user information is hidden.
		{"tcp://alice:s3c ret@h:1883", "tcp://alice:xxxxx@h:1883"},
		{"tcp://alice:s3@cret@h:bad", "tcp://alice:xxxxx@h:bad"},
		{"alice:s3cret@h:1883", "alice:xxxxx@h:1883"},
		{"tcp:alice:s3cret@h", "tcp:xxxxx@h"},
		{"not a url", "not a url"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCheckTopic(t *testing.T) {
	tests := []struct {
		topic  string
		filter bool
		ok     bool
	}{
		{"sunoye/v1/123456789/msg", false, true},
		{"sunoye/v1/123456789/#", true, true},
		{"sunoye/+/123456789/presence/+", true, true},
		{"#", true, true},
		{"+", true, true},
		{"", false, false},
		{"", true, false},
		{"a/#", false, false},
		{"a/+/b", false, false},
		{"a/#/b", true, false},
		{"a/b#", true, false},
		{"a/b+/c", true, false},
		{"a\x00b", false, false},
		{"a\xffb", false, false},
	}
	for _, tt := range tests {
		err := checkTopic(tt.topic, tt.filter)
		if (err == nil) != tt.ok {
			t.Errorf("checkTopic(%q, filter=%v) = %v, want ok=%v", tt.topic, tt.filter, err, tt.ok)
		}
	}
}

func TestParseBrokerList(t *testing.T) {
	l, err := parseBrokerList(" tcp://alice:s3,cret@n1:1883 , tcp://n2, tcp://alice:s3,cret@n3:1884")
	if err != nil {
		t.Fatalf("parseBrokerList: %v", err)
	}
	var dials []string
	for _, n := range l.nodes {
		dials = append(dials, n.dial.String())
	}
	if got, want := strings.Join(dials, " "), "tcp://n1:1883 tcp://n2:1883 tcp://n3:1884"; got != want {
		t.Errorf("nodes %q, want %q", got, want)
	}
	if l.user != "alice" || l.password != "s3,cret" {
		t.Errorf("credentials %q, %q; want those of the URLs that give them", l.user, l.password)
	}
	if want := "tcp://alice:xxxxx@n1:1883,tcp://n2,tcp://alice:xxxxx@n3:1884"; l.redacted != want {
		t.Errorf("redacted %q, want %q", l.redacted, want)
	}
	if ssl, err := parseBrokerList("ssl://n1?ca=/etc/ca.pem,ssl://n2"); err != nil || ssl.caFile != "/etc/ca.pem" || !ssl.tls {
		t.Errorf("a ca= on one node: %+v, %v; want it for all", ssl, err)
	}
}

func TestParseBrokerListErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"tcp://n1,", "URL 2 of 2 is empty"},
		{"tcp://n1,,tcp://n2", "URL 2 of 3 is empty"},
		{"tcp://n1,tcp://n2:0", `broker 2 of 2: bad broker URL "tcp://n2:0": bad port`},
		{"tcp://n1,http://n2", `broker 2 of 2: bad broker URL "http://n2": unknown scheme`},
		{"tcp://n1,mqtt://n1:1883", "listed twice"},
		{"tcp://n1,ws://n2", "either all WebSocket"},
		{"tcp://n1,ssl://n2", "either all TLS"},
		{"tcp://alice:s3cret@n1,tcp://bob:s3cret@n2", "another user or password"},
		{"tcp://alice:s3cret@n1,tcp://alice:0ther9@n2", "another user or password"},
		{"ssl://n1?ca=/a.pem,ssl://n2?ca=/b.pem", "another ca="},
		{"embedded://127.0.0.1:1883,tcp://n2", `unknown scheme "embedded"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := New(Config{Broker: tt.in})
			if err == nil {
				t.Fatal("New succeeded")
			}
			if !errors.Is(err, ErrBadURL) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q: want ErrBadURL saying %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "0ther9") {
				t.Errorf("error %q shows a password", err)
			}
		})
	}
}

func TestRedactList(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"tcp://a:pw@n1,tcp://n2", "tcp://a:xxxxx@n1,tcp://n2"},
		{"tcp://a:p,w@n1", "tcp://a:xxxxx@n1"}, // a comma in the password
		{"tcp://a:p,w@n1 , ssl://a:p,w@n2", "tcp://a:xxxxx@n1,ssl://a:xxxxx@n2"},
		{"tcp://a:pw@n1:bad,tcp://n2", "tcp://a:xxxxx@n1:bad,tcp://n2"},
	} {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
