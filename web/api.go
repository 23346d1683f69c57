package web

import (
	"time"

	"github.com/sunoye/sunoye/rooms"
)

// Error codes of the API, one per failure a caller may want to tell
// apart. The CLI maps them to exit codes.
const (
	CodeBadRequest   = "bad_request"
	CodeNoSuchRoom   = "no_such_room"
	CodeRoomInactive = "room_inactive"
	CodeWrongPass    = "wrong_password"
	// CodeTooManyAttempts: several wrong passwords in a row; the room takes
	// no attempt for a while.
	CodeTooManyAttempts = "too_many_attempts"
	CodeNotJoined       = "not_joined"
	CodeUnavailable     = "unavailable" // broker or registry unreachable
	CodeNoWindow        = "no_window"   // this daemon cannot open chat windows (headless, no display)
	CodeInternal        = "internal"

	// CodeTooLarge: a file larger than rooms.MaxFileBytes.
	CodeTooLarge = "too_large"
	// CodeNoFile: no such file, or no longer kept.
	CodeNoFile = "no_file"

	// CodeWeakPassword: a chosen password is estimated too easy to guess
	// (rooms.ErrGuessable); the error says why. CreateRequest.WeakPassword
	// insists on it.
	CodeWeakPassword = "weak_password"
)

// ErrorJSON is the body of every non-2xx answer.
type ErrorJSON struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// InviteJSON is what create (and invite) answer: everything another person
// needs to join.
type InviteJSON struct {
	Room     string `json:"room"`
	Password string `json:"password"`
	// Link is sunoye://join/ROOM#PASSWORD, which `sunoye join` takes.
	Link string `json:"link,omitempty"`
	// Text is the invite to share, as Copy invite copies it.
	Text string `json:"text,omitempty"`
}

// NewInviteJSON converts an invite for the API.
func NewInviteJSON(inv rooms.Invite) InviteJSON {
	return InviteJSON{Room: string(inv.Room), Password: inv.Password, Link: inv.Link(), Text: inv.String()}
}

// MemberJSON is one member of a room.
type MemberJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Self bool   `json:"self,omitempty"`
}

// RoomJSON is a joined room.
type RoomJSON struct {
	Room string `json:"room"`
	// Members is the live member count (presence), this daemon included.
	Members int `json:"members"`
	Unread  int `json:"unread"`
	// Leases is the registry's count of live leases as of the last
	// heartbeat: the crash-safe count.
	Leases int `json:"leases"`
	// Notify is the notification level: "all", "mentions" or "none";
	// Muted is Notify == "none".
	Notify    string `json:"notify"`
	Muted     bool   `json:"muted"`
	Connected bool   `json:"connected"`
	// Registry is what the registry last said of the room: "ok",
	// "unreachable", "reused" (its number names another room now; the
	// conversation goes on over the broker) or "lost" (it lost the room
	// and could not take it back yet).
	Registry string `json:"registry"`
	// Rejected counts payloads that did not open or were malformed;
	// Replayed, genuine ones shown before and published again.
	Rejected uint64 `json:"rejected"`
	Replayed uint64 `json:"replayed"`
	// Waits counts how often the daemon held up the broker because it
	// was behind; Dropped is always 0 since nothing is dropped (a message
	// is acknowledged to the broker only once it is handled), and stays
	// for the scripts that read it.
	Waits   uint64 `json:"waits"`
	Dropped uint64 `json:"dropped"`
	// FilesDropped counts files refused (too many at once, not matching
	// their hash, a piece out of place) or dropped because their pieces
	// stopped coming: never shown.
	FilesDropped uint64 `json:"files_dropped"`
	CanInvite    bool   `json:"can_invite"`
	// LastMember is true when no other member is live (rooms.RoomInfo's
	// LastMember): leaving would close the room.
	LastMember bool         `json:"last_member"`
	MemberList []MemberJSON `json:"member_list,omitempty"`
	Topic      string       `json:"topic,omitempty"`
	// PresenceTopic is this daemon's presence topic in the room.
	PresenceTopic string `json:"presence_topic,omitempty"`
	// Node is the broker node the room's connection uses (or last used):
	// with a list of a cluster's nodes, which of them.
	Node string `json:"node,omitempty"`
}

// MessageJSON is one message, as `sunoye tail --json` prints it.
type MessageJSON struct {
	Room   string `json:"room"`
	ID     string `json:"id"`
	From   string `json:"from"`   // the sender's display name
	Sender string `json:"sender"` // the sender's member id
	Text   string `json:"text"`
	TS     string `json:"ts"` // RFC 3339, UTC, milliseconds
	Own    bool   `json:"own,omitempty"`
	// File is set for a message that carries a file (Text is its
	// caption, maybe empty); GET /v1/rooms/{room}/files/{id} serves it.
	File *FileJSON `json:"file,omitempty"`
	// Mention: another member's message that mentions this member
	// (@name or @room).
	Mention bool `json:"mention,omitempty"`
}

// FileJSON describes a message's file. Type is sniffed from its bytes by
// the daemon that received it: image/png, image/jpeg, image/gif,
// image/webp, or application/octet-stream.
type FileJSON struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Size int64  `json:"size"`
}

// StatusJSON describes the daemon.
type StatusJSON struct {
	Version      string `json:"version"`
	Member       string `json:"member"`
	Name         string `json:"name"`
	Broker       string `json:"broker"`
	Registry     string `json:"registry"`
	Rooms        int    `json:"rooms"`
	DoNotDisturb bool   `json:"do_not_disturb"`
	PID          int    `json:"pid"`
}

// Request bodies.
type (
	// CreateRequest creates a room; an empty Password asks for a generated
	// one. A chosen one estimated under rooms.MinPasswordBits is refused
	// (CodeWeakPassword) unless WeakPassword insists on it.
	CreateRequest struct {
		Password     string `json:"password,omitempty"`
		WeakPassword bool   `json:"weak_password,omitempty"`
	}
	// JoinRequest joins a room.
	JoinRequest struct {
		Password string `json:"password"`
	}
	// SendRequest sends a message.
	SendRequest struct {
		Text string `json:"text"`
	}
	// ToggleRequest sets a flag (mute, do not disturb).
	ToggleRequest struct {
		On bool `json:"on"`
	}
	// NotifyRequest sets a room's notification level: "all",
	// "mentions" or "none".
	NotifyRequest struct {
		Level string `json:"level"`
	}
	// OpenURLRequest asks the daemon to open an http(s) URL in the
	// default browser (a link in a message, clicked in a chat window).
	OpenURLRequest struct {
		URL string `json:"url"`
	}
)

// TimeFormat is the format of MessageJSON.TS.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// NewMessageJSON converts a message for the API.
func NewMessageJSON(m rooms.Message) MessageJSON {
	out := MessageJSON{
		Room: string(m.Room), ID: m.ID, From: m.Name, Sender: string(m.Sender),
		Text: m.Text, TS: m.Time.UTC().Format(TimeFormat), Own: m.Own, Mention: m.Mention,
	}
	if f := m.File; f != nil {
		out.File = &FileJSON{Name: f.Name, Type: f.Type, Size: f.Size}
	}
	return out
}

// NewRoomJSON converts a room for the API; withMembers adds the member list.
func NewRoomJSON(in rooms.RoomInfo, withMembers bool) RoomJSON {
	r := RoomJSON{
		Room: string(in.ID), Members: len(in.Members), Unread: in.Unread, Leases: in.Leases,
		Node:   in.Node,
		Notify: string(in.Notify), Muted: in.Muted, Connected: in.Connected, Rejected: in.Rejected, Replayed: in.Replayed, Waits: in.Waits, Registry: in.Registry,
		CanInvite: in.CanInvite, LastMember: in.LastMember(),
		FilesDropped: in.FilesDropped,
	}
	if withMembers {
		r.Topic, r.PresenceTopic = in.Topic, in.PresenceTopic
		r.MemberList = make([]MemberJSON, 0, len(in.Members))
		for _, m := range in.Members {
			r.MemberList = append(r.MemberList, MemberJSON{ID: string(m.ID), Name: m.Name, Self: m.Self})
		}
	}
	return r
}

// ParseTime reads MessageJSON.TS.
func ParseTime(s string) (time.Time, error) { return time.Parse(TimeFormat, s) }

// EventJSON is one event of the stream GET /v1/events (server-sent events,
// one JSON object in the data field of each). Kind is one of rooms'
// EventKinds ("message", "members", "joined", "left", "closed",
// "connection", "read", "typing") or EventResync. Room is empty for
// changes that concern no single room (do not disturb). Message is set
// for "message", Member (who is typing) for "typing". Clients re-read
// what they show from the API when an event concerns it.
type EventJSON struct {
	Kind    string       `json:"kind"`
	Room    string       `json:"room,omitempty"`
	Message *MessageJSON `json:"message,omitempty"`
	Member  *MemberJSON  `json:"member,omitempty"`
}

// EventResync is the kind of the event sent when the stream fell behind
// and events were lost: the client re-reads everything it shows.
const EventResync = "resync"

// NewEventJSON converts an event for the API.
func NewEventJSON(e rooms.Event) EventJSON {
	out := EventJSON{Kind: string(e.Kind), Room: string(e.Room)}
	if e.Message != nil {
		m := NewMessageJSON(*e.Message)
		out.Message = &m
	}
	if e.Member != nil {
		out.Member = &MemberJSON{ID: string(e.Member.ID), Name: e.Member.Name}
	}
	return out
}

// FocusRequest is the body of POST /v1/rooms/{room}/focus: a chat window
// (Client, a random id per page, the same it gave GET /v1/events) shows
// the room and has the focus (On), or no longer does.
type FocusRequest struct {
	Client string `json:"client"`
	On     bool   `json:"on"`
}

// SettingsJSON is the user's settings as the chat UI's settings view
// edits them. In a POST, an empty Broker or DB means "keep the current
// one": the UI shows them redacted and sends them only when edited.
type SettingsJSON struct {
	Name   string `json:"name"`
	Broker string `json:"broker"`
	DB     string `json:"db"`
}

// SettingsAnswerJSON answers POST /v1/settings: the settings now, and
// whether the daemon must be restarted for them to take effect (a new
// display name applies at once; a new broker or database at the next
// start).
type SettingsAnswerJSON struct {
	SettingsJSON
	RestartNeeded bool `json:"restart_needed"`
}

// SessionRequest is the body of POST /v1/session on the chat UI: the
// launch token from the fragment of a launch URL ("#launch=TOKEN").
type SessionRequest struct {
	Launch string `json:"launch"`
}

// SessionJSON answers POST /v1/session: the session token, which every
// other request of the chat UI's API carries as "Authorization: Bearer
// TOKEN", and the view the launch URL was for (as View's String writes
// it).
type SessionJSON struct {
	Session string `json:"session"`
	View    string `json:"view"`
}

// OpenRequest is the body of POST /v1/open: open a chat window showing
// View (as web.View's String writes it: "room/482913057", "create", …).
type OpenRequest struct {
	View string `json:"view"`
}
