package mqttx

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// URLForms lists the broker URLs that New accepts, for help texts and
// error messages. A cluster's nodes are a comma-separated list of them.
const URLForms = "tcp://host[:1883], mqtt://host[:1883], " +
	"ssl://host[:8883], mqtts://host[:8883] (TLS; ?ca=FILE trusts a private CA), " +
	"ws://host[:80][/path], wss://host[:443][/path] (WebSocket), " +
	"each optionally with user:password@ before the host"

// ErrBadURL is wrapped by the errors that New returns for a broker URL it
// cannot use.
var ErrBadURL = errors.New("bad broker URL")

// brokerURL is a validated broker URL, split into what Paho dials and the
// credentials, which never go back into a URL that could be logged.
type brokerURL struct {
	// dial is what Paho connects to: no user info, port filled in.
	dial *url.URL
	// redacted is the URL as given, password removed, for logs and errors.
	redacted string
	tls      bool
	caFile   string // from ?ca=: a CA to trust beside the system's
	user     string
	password string
}

// defaultPorts are the usual ports of each scheme, used when the URL has
// none. The schemes are the ones Paho dials itself.
var defaultPorts = map[string]string{
	"tcp":   "1883",
	"mqtt":  "1883",
	"ssl":   "8883",
	"mqtts": "8883",
	"ws":    "80",
	"wss":   "443",
}

// parseBrokerURL validates raw and splits it. Its errors never contain the
// password: url.Parse's own do, so only their cause is kept.
func parseBrokerURL(raw string) (brokerURL, error) {
	raw = strings.TrimSpace(raw)
	red := Redact(raw)
	bad := func(format string, args ...any) (brokerURL, error) {
		return brokerURL{}, fmt.Errorf("%w %q: %s; accepted forms: %s",
			ErrBadURL, red, fmt.Sprintf(format, args...), URLForms)
	}
	if raw == "" {
		return bad("empty")
	}
	if !strings.Contains(raw, "://") {
		return bad("no scheme")
	}
	u, err := url.Parse(raw)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // url.Error's text repeats the URL, password and all
		}
		return bad("%v", err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	defPort, ok := defaultPorts[u.Scheme]
	if !ok {
		return bad("unknown scheme %q", u.Scheme)
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return bad("no host")
	}
	if strings.Contains(u.Hostname(), ":") && !strings.HasPrefix(u.Host, "[") {
		// url.Parse takes "h:1883:1" for host "h:1883", port 1.
		return bad("bad host %q (an IPv6 address goes in brackets)", u.Host)
	}
	port := u.Port()
	if port == "" {
		if strings.HasSuffix(u.Host, ":") {
			return bad("empty port")
		}
		port = defPort
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return bad("bad port %q", port)
	}
	websocket := u.Scheme == "ws" || u.Scheme == "wss"
	tlsScheme := u.Scheme == "ssl" || u.Scheme == "mqtts" || u.Scheme == "wss"
	// ca=FILE is ours (a private CA for a TLS broker); for ws:// and wss://
	// the rest of the query belongs to the WebSocket URL.
	q := u.Query()
	caFile := q.Get("ca")
	if caFile != "" && !tlsScheme {
		return bad("ca= is for TLS brokers (ssl://, mqtts://, wss://)")
	}
	q.Del("ca")
	u.RawQuery = q.Encode()
	if !websocket && (u.Path != "" && u.Path != "/" || u.RawQuery != "") {
		return bad("a path or query other than ca= is only meaningful with ws:// or wss://")
	}
	if u.Fragment != "" {
		return bad("unexpected #fragment")
	}

	b := brokerURL{
		redacted: red,
		tls:      tlsScheme,
		caFile:   caFile,
	}
	if u.User != nil {
		b.user = u.User.Username()
		b.password, _ = u.User.Password()
	}
	dial := *u
	dial.User = nil
	dial.Host = joinHostPort(u.Hostname(), port)
	if !websocket {
		dial.Path, dial.RawPath = "", ""
	}
	b.dial = &dial
	return b, nil
}

// joinHostPort is net.JoinHostPort, spelled out to keep the URL's own
// bracketing of IPv6 literals.
func joinHostPort(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

// Redact returns the broker URL raw, or each URL of a list, with its
// password replaced by "xxxxx", for logs and error messages.
func Redact(raw string) string {
	if strings.Contains(raw, ",") {
		return redactList(raw)
	}
	return redactOne(raw)
}

// redactOne redacts one broker URL. It also copes with URLs that do not parse:
// whatever stands between the scheme and the last "@" is treated as user
// information, so that a password is never shown, if need be at the cost of
// hiding more than it.
func redactOne(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Opaque == "" {
		if u.User == nil {
			return raw
		}
		return u.Redacted()
	}
	prefix, rest := "", raw
	if i := strings.Index(raw, "://"); i >= 0 {
		prefix, rest = raw[:i+3], raw[i+3:]
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return raw
	}
	user := rest[:at]
	if c := strings.IndexByte(user, ':'); c >= 0 {
		user = user[:c] + ":xxxxx"
	}
	return prefix + user + "@" + rest[at+1:]
}

// brokerList is a validated list of broker URLs: the nodes of one
// cluster, tried in order. Their credentials and CA file are the same for
// all, given in any of them.
type brokerList struct {
	nodes []brokerURL
	// redacted is the list as given, passwords removed.
	redacted string
	tls      bool
	caFile   string
	user     string
	password string
}

// useKeeper reports whether the Transport keeps the list's connections
// alive itself: the nodes are all TCP and TLS, or all WebSocket.
func (l brokerList) useKeeper() bool { return l.nodes[0].useKeeper() }

// SplitBrokers splits a broker list, "URL[,URL…]", into its URLs, spaces
// around them removed. A comma inside a URL's password stays in it: a
// part with an "@" and no "://" continues the one before.
func SplitBrokers(raw string) []string {
	var out []string
	for part := range strings.SplitSeq(raw, ",") {
		if len(out) > 0 && !strings.Contains(part, "://") && strings.Contains(part, "@") {
			out[len(out)-1] += "," + part
			continue
		}
		out = append(out, part)
	}
	for i := range out {
		out[i] = strings.TrimSpace(out[i])
	}
	return out
}

// parseBrokerList validates raw, one broker URL or several separated by
// commas (the nodes of a cluster). Every URL must be valid; a list mixes
// neither WebSocket with TCP nor TLS with plain; user, password and ca=,
// where given, must be the same in every URL that gives them (a client
// has one set), and apply to all.
func parseBrokerList(raw string) (brokerList, error) {
	parts := SplitBrokers(raw)
	if len(parts) == 1 {
		u, err := parseBrokerURL(parts[0])
		if err != nil {
			return brokerList{}, err
		}
		return brokerList{nodes: []brokerURL{u}, redacted: u.redacted, tls: u.tls, caFile: u.caFile, user: u.user, password: u.password}, nil
	}
	l := brokerList{redacted: Redact(raw)}
	bad := func(format string, args ...any) (brokerList, error) {
		return brokerList{}, fmt.Errorf("%w: broker list %q: %s", ErrBadURL, l.redacted, fmt.Sprintf(format, args...))
	}
	seen := make(map[string]bool)
	for i, p := range parts {
		if p == "" {
			return bad("URL %d of %d is empty (a stray comma?)", i+1, len(parts))
		}
		u, err := parseBrokerURL(p)
		if err != nil {
			return brokerList{}, fmt.Errorf("broker %d of %d: %w", i+1, len(parts), err)
		}
		if seen[u.dial.Host+u.dial.Path] {
			return bad("%s is listed twice", Redact(p))
		}
		seen[u.dial.Host+u.dial.Path] = true
		if i > 0 {
			first := l.nodes[0]
			switch {
			case u.useKeeper() != first.useKeeper():
				return bad("%s and %s: a list is either all WebSocket (ws://, wss://) or none", Redact(p), first.redacted)
			case u.tls != first.tls:
				return bad("%s and %s: a list is either all TLS or none", Redact(p), first.redacted)
			}
		}
		if u.user != "" || u.password != "" {
			if l.user != "" && (u.user != l.user || u.password != l.password) {
				return bad("%s: another user or password than an earlier URL's; a client has one, give it once or the same in each", Redact(p))
			}
			l.user, l.password = u.user, u.password
		}
		if u.caFile != "" {
			if l.caFile != "" && u.caFile != l.caFile {
				return bad("%s: another ca= than an earlier URL's; give one CA file for the cluster", Redact(p))
			}
			l.caFile = u.caFile
		}
		l.nodes = append(l.nodes, u)
	}
	l.tls = l.nodes[0].tls
	return l, nil
}

// redactList is Redact for each URL of a list.
func redactList(raw string) string {
	parts := SplitBrokers(raw)
	for i, p := range parts {
		parts[i] = redactOne(p)
	}
	return strings.Join(parts, ",")
}
