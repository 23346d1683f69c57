package rooms

import (
	"context"
	"errors"
	"time"
)

// Errors that the Service returns and that callers (the CLI, the local API)
// tell apart. Adapters return ErrNoSuchRoom, ErrRoomInactive and ErrRoomTaken
// from their Registry methods so that the Service can recognise them with
// errors.Is.
var (
	ErrNoSuchRoom    = errors.New("no such room")
	ErrRoomInactive  = errors.New("room is inactive")
	ErrRoomTaken     = errors.New("room number is taken")
	ErrWrongPassword = errors.New("wrong password")
	ErrNotJoined     = errors.New("not joined to this room")
	ErrTooLong       = errors.New("message too long")
	ErrEmpty         = errors.New("message is empty")
	ErrWeakPassword  = errors.New("password too short")
	ErrBadRoomNumber = errors.New("bad room number")
	// ErrInvalid marks other input that breaks a rule (a name with control
	// characters, text that is not UTF-8).
	ErrInvalid = errors.New("invalid input")
	// ErrUnavailable marks failures to reach the broker or the registry;
	// adapters wrap it, naming which and where.
	ErrUnavailable = errors.New("unavailable")
)

// Record is what the registry keeps of a room: never the password, only
// what lets a client check one and derive the room key from it.
type Record struct {
	ID ID
	// Generation counts how often this room number has been (re)created.
	// A member's lease is for one generation: when an inactive number is
	// reused, the new room has a new generation, salt and key, and leases
	// or keys of the old one no longer match.
	Generation int64
	Salt       []byte
	KDF        KDFParams
	// Verifier is derived from the room key (see Key.Verifier); it lets a
	// client check a password, and the registry check a join proof
	// (CheckProof), without the registry ever seeing the password or the
	// key.
	Verifier []byte
}

// Status is the registry's view of a room right now.
type Status struct {
	// Members is the number of live leases.
	Members int
	// Active is true while at least one lease is live.
	Active bool
}

// Credentials are what a member shows the registry for one room. The
// registry keeps only one-way images of both, so that nobody who can read
// it can present them.
type Credentials struct {
	// Proof shows that the member knows the room key (Key.JoinProof): the
	// registry checks it against the room's verifier (CheckProof) before
	// it adds a lease. Without it nobody can add a lease to a room.
	Proof []byte
	// Token names the member's lease and proves that it holds it: the
	// registry keeps only its SHA-256, and renews or ends a lease only for
	// the caller who shows the token. It is secret, and different in
	// every room and generation, so the registry cannot link one member's
	// rooms.
	Token []byte
}

// Lease names one membership that a member holds: a room in a given
// generation, with the member's credentials for it.
type Lease struct {
	Room       ID
	Generation int64
	Credentials
}

// Registry is the shared room registry (MySQL, or the embedded database).
//
// Membership is a lease that expires unless renewed, so that a member that
// crashes stops being counted without anybody cleaning up. A room is active
// while it has a live lease; the registry derives that from the leases
// rather than storing it, so it cannot drift.
//
// The registry is shared with people who may be hostile, and it enforces
// these rules itself (in stored procedures on MySQL), whatever its callers
// do: a lease is added only with a proof that matches the room's verifier;
// a lease is renewed or ended only with its token; a room's salt, KDF
// parameters and verifier change only when the number is reused, which it
// can be only while the room has no live lease.
type Registry interface {
	// Create stores rec as a new room with the creator's lease,
	// atomically. If rec.ID names an active room it returns ErrRoomTaken;
	// an inactive room with that number is replaced, and its old leases
	// removed. It returns the record as stored: Generation is assigned by
	// the registry. cred.Proof must match rec.Verifier.
	Create(ctx context.Context, rec Record, cred Credentials, ttl time.Duration) (Record, error)

	// Lookup returns a room's record and status, or ErrNoSuchRoom.
	Lookup(ctx context.Context, id ID) (Record, Status, error)

	// Join gives the holder of cred a lease of length ttl on room id in
	// generation gen. It returns ErrNoSuchRoom if the number is unknown,
	// ErrRoomInactive if the room has no live lease or its generation is
	// not gen, and ErrWrongPassword if cred.Proof does not match. A
	// member's own live lease counts: a daemon that crashed and restarts
	// within its lease keeps its room. Joining again renews the lease.
	Join(ctx context.Context, id ID, gen int64, cred Credentials, ttl time.Duration) error

	// Renew extends the given leases to ttl from now. A lease that lapsed
	// (the database was unreachable for a while) or whose row is missing
	// is taken again, with its proof, as long as the room's generation is
	// unchanged: the member never left. It returns the number of live
	// leases of each room it renewed, and lists as gone the rooms that no
	// longer exist or whose generation changed.
	Renew(ctx context.Context, leases []Lease, ttl time.Duration) (counts map[ID]int, gone []ID, err error)

	// Reregister puts back a room that the registry lost (its rows were
	// deleted) as its members know it, generation included, with the
	// caller's lease; if the room is there as rec describes it, it only
	// renews the caller's lease. It returns ErrRoomTaken if the number
	// names another room (another generation or verifier).
	Reregister(ctx context.Context, rec Record, cred Credentials, ttl time.Duration) error

	// Leave ends the lease of token's holder on room id. Leaving a room
	// one is not in is not an error.
	Leave(ctx context.Context, id ID, token []byte) error

	// Close releases the registry's resources.
	Close() error
}

// Packet is one MQTT message as a Transport carries it.
type Packet struct {
	Topic    string
	Payload  []byte
	Retained bool
	// Queued is, on delivery, how many packets the session holds behind
	// this one: more are coming at once. It lets the receiver open a
	// burst on more than one core; 0 is always correct.
	Queued int
	// Inline, on delivery, says that Deliver runs on the MQTT library's
	// own goroutine (see SessionConfig.DeliverInline).
	Inline bool
}

// SessionConfig describes the transport session of one room.
type SessionConfig struct {
	// ClientID is stable across restarts, so that the broker keeps the
	// session (subscriptions and queued messages) while the daemon is down.
	ClientID string
	// Filters are subscribed at QoS 1, and again after every reconnect.
	Filters []string
	// Will is published by the broker, retained, when the session ends
	// without a clean disconnect.
	Will *Packet
	// Deliver receives every incoming packet, in order, on a goroutine of
	// the session, never the MQTT library's own: it may block or publish
	// (unless DeliverInline).
	// The packet is acknowledged to the broker only when handled is called
	// (once, then or later, from any goroutine): whatever is not handled
	// when the session ends — a clean stop, a crash, a lost connection —
	// the broker sends again. Packets that arrive while Deliver is behind
	// are queued up to a bound; beyond it the broker is held up, and
	// nothing is dropped.
	Deliver func(p Packet, handled func())
	// DeliverInline lets the session call Deliver on the MQTT library's
	// own goroutine for a packet with nothing queued before or behind it,
	// marked Inline, which saves a goroutine hand-off per packet. Deliver
	// must then, for such a packet, neither publish and wait (the
	// acknowledgement could not be read) nor wait for the disk.
	DeliverInline bool
	// OnConnect is called (on its own goroutine) after each successful
	// connection, including reconnects; OnDisconnect when the connection is
	// lost.
	OnConnect    func()
	OnDisconnect func(err error)
}

// Session is one room's live connection to the broker.
type Session interface {
	// Publish sends p with QoS 1 and waits for the broker's acknowledgement
	// or ctx. While the connection is down and being re-established, the
	// message is kept and sent after reconnecting.
	Publish(ctx context.Context, p Packet) error
	// Connected reports whether the connection is up right now.
	Connected() bool
	// Waits is how often the session held up the broker because Deliver
	// was behind (back-pressure, not loss).
	Waits() uint64
	// Close disconnects cleanly, so the Will is not sent. With forget, it
	// also unsubscribes and discards the broker-side session; without, the
	// broker keeps queueing the room's messages for the next start.
	Close(ctx context.Context, forget bool) error
}

// NodeSession is a Session that says which node of a clustered broker
// it is connected to (or was last): Node returns its URL, without
// credentials.
type NodeSession interface {
	Session
	Node() string
}

// Transport opens sessions on a message broker.
type Transport interface {
	// Open connects a session and subscribes its filters before returning.
	// It fails if the broker cannot be reached, naming it.
	Open(ctx context.Context, cfg SessionConfig) (Session, error)
}

// Notification is what a Notifier shows for an incoming message.
type Notification struct {
	Room ID
	// Sender is the sender's Label: name and the start of the member id.
	Sender  string
	Text    string
	Message Message
	// Mention: the message mentions this member (see Mentions).
	Mention bool
}

// Notifier tells the user that a message arrived while they were not
// looking. Notify must not block for long; implementations bound their own
// calls.
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}

// Withdrawer is a Notifier that can take a room's notification off the
// screen again. When a room is read (its window focused, its messages
// marked read), the Service withdraws its notification, if the Notifier
// can: a notification saying "3 new" about messages already read is noise.
type Withdrawer interface {
	Withdraw(ctx context.Context, room ID) error
}
