package rooms

import "strings"

// topics are a room's MQTT topics:
//
//	sunoye/v1/<tag>/m            messages
//	sunoye/v1/<tag>/p/<member>   each member's retained presence
//
// where tag is derived from the room key (Key.tag).
type topics struct {
	messages string
	presence string // prefix, ends in "/"
	filter   string
}

const topicRoot = "sunoye/v1/"

func topicsFor(k Key) topics {
	base := topicRoot + k.tag()
	return topics{
		messages: base + "/m",
		presence: base + "/p/",
		filter:   base + "/#",
	}
}

func (t topics) presenceOf(m MemberID) string { return t.presence + string(m) }

// memberOfPresence returns the member whose presence topic this is.
func (t topics) memberOfPresence(topic string) (MemberID, bool) {
	m, ok := strings.CutPrefix(topic, t.presence)
	if !ok || m == "" || strings.Contains(m, "/") {
		return "", false
	}
	return MemberID(m), true
}
