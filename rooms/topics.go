package rooms

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// topics are a room's MQTT topics:
//
//	sunoye/v1/<tag>/m                messages
//	sunoye/v1/<tag>/p/<member tag>   each member's retained presence
//	sunoye/v1/<tag>/t                typing signals (see typing.go)
//
// where tag is derived from the room key (Key.tag), and a member's tag
// from the room key and the member id (memberTag). Neither says anything
// to the broker: it cannot tell which room number a topic is, nor that two
// rooms' members are the same person.
type topics struct {
	messages string
	typing   string
	presence string // prefix, ends in "/"
	filter   string
	members  []byte // HMAC key of member tags
}

const topicRoot = "sunoye/v1/"

func topicsFor(k Key) topics {
	base := topicRoot + k.tag()
	return topics{
		messages: base + "/m",
		typing:   base + "/t",
		presence: base + "/p/",
		filter:   base + "/#",
		members:  k.mac(labelMember),
	}
}

// memberTag is member m's pseudonym in this room: 96 bits of an HMAC
// under a room key, so that the member id — the same in every room — never
// shows on the broker.
func (t topics) memberTag(m MemberID) string {
	h := hmac.New(sha256.New, t.members)
	h.Write([]byte(m))
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// presenceOf is member m's presence topic.
func (t topics) presenceOf(m MemberID) string { return t.presence + t.memberTag(m) }

// tagOfPresence returns the member tag of a presence topic.
func (t topics) tagOfPresence(topic string) (string, bool) {
	tag, ok := strings.CutPrefix(topic, t.presence)
	if !ok || tag == "" || strings.Contains(tag, "/") {
		return "", false
	}
	return tag, true
}
