package mqttx

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// errBadTopic is wrapped by the errors for topic names and filters that
// MQTT forbids. They are checked here rather than left to the broker,
// which answers a bad topic by closing the connection: Paho would then
// resend the offending message after every reconnect, for ever.
var errBadTopic = errors.New("bad MQTT topic")

// checkTopic validates a topic name (filter false) or a topic filter
// (filter true) as MQTT 3.1.1 section 4.7 defines them.
func checkTopic(topic string, filter bool) error {
	switch {
	case topic == "":
		return fmt.Errorf("%w: empty", errBadTopic)
	case len(topic) > 65535:
		return fmt.Errorf("%w: longer than 65535 bytes", errBadTopic)
	case !utf8.ValidString(topic):
		return fmt.Errorf("%w %q: not UTF-8", errBadTopic, topic)
	case strings.ContainsRune(topic, 0):
		return fmt.Errorf("%w %q: contains NUL", errBadTopic, topic)
	}
	if !filter {
		if strings.ContainsAny(topic, "+#") {
			return fmt.Errorf("%w %q: wildcards are only allowed in filters", errBadTopic, topic)
		}
		return nil
	}
	levels := strings.Split(topic, "/")
	for i, l := range levels {
		switch {
		case l == "#" && i != len(levels)-1,
			l != "#" && strings.Contains(l, "#"),
			l != "+" && strings.Contains(l, "+"):
			return fmt.Errorf("%w %q: a wildcard must fill its level, and # must be last", errBadTopic, topic)
		}
	}
	return nil
}
