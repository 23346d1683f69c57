package rooms

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Config tunes a Service. Zero fields take the defaults below.
type Config struct {
	Identity Identity
	// Name is the display name shown to other members.
	Name string
	// LeaseTTL is how long a membership lasts without a heartbeat: a daemon
	// that dies stops being counted within this time.
	LeaseTTL time.Duration
	// Heartbeat is how often leases are renewed.
	Heartbeat time.Duration
	// HistoryLimit bounds the messages kept per room.
	HistoryLimit int
	// FileBudget bounds the bytes of files kept per room (the oldest
	// files' bytes go first); 0 means DefaultFileBudget.
	FileBudget int64
	// KDF is used for rooms this daemon creates.
	KDF KDFParams
	// PresenceTTL is how long a member stays in the member list without
	// a fresh presence; members announce themselves every Heartbeat.
	PresenceTTL time.Duration
	// Run numbers this start of the daemon: it must be greater than the
	// Run of every earlier start with the same identity (the state file
	// keeps a counter). Messages carry it, so that a receiver can tell a
	// replay of an earlier run's message from a new one (see Mark). Zero
	// takes the clock's milliseconds.
	Run    uint64
	Logger *slog.Logger
	// Attempts keeps the records of wrong passwords across restarts (see
	// throttle.go); nil keeps them in memory only.
	Attempts AttemptStore
}

// Defaults.
const (
	DefaultLeaseTTL     = 90 * time.Second
	DefaultHistoryLimit = 500
)

// SavedRoom is what survives a daemon restart: enough to rejoin without the
// password, which is never saved.
type SavedRoom struct {
	ID         ID     `json:"room"`
	Generation int64  `json:"generation"`
	Key        []byte `json:"key"`
	// Notify is the room's notification level; Muted, written as Notify
	// == NotifyNone, is what state files had before levels (read when
	// Notify is missing).
	Notify NotifyLevel `json:"notify,omitempty"`
	Muted  bool        `json:"muted,omitempty"`
	// Salt, KDF and Verifier are the room's record as the registry had it
	// when we joined: a registry that loses the room gets it back from
	// its members (Registry.Reregister).
	Salt     []byte     `json:"salt,omitempty"`
	KDF      *KDFParams `json:"kdf,omitempty"`
	Verifier []byte     `json:"verifier,omitempty"`
	// JoinedAt is when this member joined (Unix ms), and Marks how far
	// each sender's messages were shown: together they tell a replayed
	// message from a new one across restarts and crashes (see Mark).
	JoinedAt int64             `json:"joined_at,omitempty"`
	Marks    map[MemberID]Mark `json:"marks,omitempty"`
	// OlderPeers are the members seen in the room whose SunOye does not
	// open batches: while any is still a member — even away, its broker
	// session queueing for it — our messages go alone (see batch.go).
	OlderPeers []MemberID `json:"older_peers,omitempty"`
}

// level returns the saved room's notification level.
func (sr SavedRoom) level() NotifyLevel {
	if l, err := ParseNotifyLevel(string(sr.Notify)); err == nil {
		return l
	}
	if sr.Muted {
		return NotifyNone
	}
	return NotifyAll
}

// record returns the room's registry record as saved, if it was.
func (sr SavedRoom) record() (Record, bool) {
	if sr.KDF == nil || len(sr.Salt) == 0 || len(sr.Verifier) == 0 {
		return Record{}, false
	}
	return Record{ID: sr.ID, Generation: sr.Generation, Salt: sr.Salt, KDF: *sr.KDF, Verifier: sr.Verifier}, true
}

// StateStore keeps the joined rooms across restarts.
type StateStore interface {
	SaveRooms(rooms []SavedRoom) error
}

// Service joins, leaves and sends: the daemon's core. It is safe for
// concurrent use.
type Service struct {
	cfg Config
	me  MemberID
	// tokenKey and clientKey are secrets of this identity (see
	// Identity.localSecret) behind lease tokens and client ids.
	tokenKey, clientKey []byte
	reg                 Registry
	tr                  Transport
	store               StateStore
	log                 *slog.Logger
	hub                 hub

	// showMu is held (read) by each room's shower from taking a batch of
	// messages until they are shown, and by Shutdown (write) for its last
	// write of the state file (see showBatch).
	showMu sync.RWMutex

	// opMu serialises changes of membership (create, join, leave), so that
	// two requests for one room cannot race each other into two sessions.
	opMu sync.Mutex

	mu       sync.Mutex
	rooms    map[ID]*room
	name     string
	dnd      bool
	focused  map[ID]int // open, focused chat windows per room
	notifier Notifier
	dbDown   bool
	stopped  bool // after Shutdown: the saved rooms must stay as they were
	// showEnded is closed once Shutdown has stopped the showing (see
	// ShowingEnded).
	showEnded     chan struct{}
	showEndedOnce sync.Once
	failures      map[ID]*failures

	notes *noteQueue // incoming messages to notify about

	// openers open the messages of bursts on every core (pipeline.go).
	openers openers

	// kdfSlots bounds concurrent key derivations: each takes 64 MiB, and a
	// burst of join requests must not take gigabytes.
	kdfSlots chan struct{}

	// saveWanted and saveDone count requests to write the marks and the
	// requests written (see persist); commitMu lets one write at a time.
	saveWanted, saveDone atomic.Uint64
	commitMu             sync.Mutex

	// saveMu orders writes of the state file: a snapshot taken later is
	// written later. pending holds saved rooms that are not attached (yet):
	// they stay in the state file.
	saveMu  sync.Mutex
	pending map[ID]SavedRoom
}

// NewService returns a Service that has joined no room yet; see Restore.
func NewService(cfg Config, reg Registry, tr Transport, store StateStore) (*Service, error) {
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = cfg.LeaseTTL / 3
	}
	if cfg.PresenceTTL <= 0 {
		// Three announcements missed, and a third of one for delays.
		cfg.PresenceTTL = 3*cfg.Heartbeat + cfg.Heartbeat/3
	}
	if cfg.Run == 0 {
		cfg.Run = uint64(time.Now().UnixMilli())
	}
	if cfg.HistoryLimit <= 0 {
		cfg.HistoryLimit = DefaultHistoryLimit
	}
	if cfg.KDF == (KDFParams{}) {
		cfg.KDF = DefaultKDF
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Identity.priv == nil {
		return nil, errors.New("rooms: service needs an identity")
	}
	if err := CheckName(cfg.Name); err != nil {
		return nil, err
	}
	return &Service{
		cfg:       cfg,
		me:        cfg.Identity.Member(),
		tokenKey:  cfg.Identity.localSecret(labelLeaseToken),
		clientKey: cfg.Identity.localSecret(labelClientID),
		reg:       reg,
		tr:        tr,
		store:     store,
		log:       cfg.Logger,
		rooms:     make(map[ID]*room),
		name:      cfg.Name,
		focused:   make(map[ID]int),
		failures:  loadFailures(cfg.Attempts),
		notes:     newNoteQueue(),
		kdfSlots:  make(chan struct{}, kdfParallel),
		pending:   make(map[ID]SavedRoom),
		showEnded: make(chan struct{}),
	}, nil
}

// Me returns this daemon's member id.
func (s *Service) Me() MemberID { return s.me }

// Name returns the display name.
func (s *Service) Name() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.name
}

// SetNotifier sets (or, with nil, removes) the notifier for incoming
// messages.
func (s *Service) SetNotifier(n Notifier) {
	s.mu.Lock()
	s.notifier = n
	s.mu.Unlock()
}

// Subscribe returns a channel of events, and a function that ends the
// subscription. The channel is closed if the subscriber falls more than buf
// events behind.
func (s *Service) Subscribe(buf int) (<-chan Event, func()) { return s.hub.subscribe(buf) }

// ShowingEnded is closed once Shutdown has stopped showing messages: every
// message shown in this run is by then in the channels of the subscribers
// that were not cut off, and none comes after it. A follower (`sunoye
// tail`) writes out what its channel still holds and ends: what a clean
// stop showed, it has seen.
func (s *Service) ShowingEnded() <-chan struct{} { return s.showEnded }

// Invite is what someone needs to join a room.
type Invite struct {
	Room     ID
	Password string
}

// Create makes a new room with password, or a generated one if password is
// empty, and joins it as its first member.
func (s *Service) Create(ctx context.Context, password string) (Invite, error) {
	if password == "" {
		p, err := GeneratePassword()
		if err != nil {
			return Invite{}, err
		}
		password = p
	} else if err := CheckPassword(password); err != nil {
		return Invite{}, err
	}
	// The key derivation (tens of milliseconds, 64 MiB) runs before taking
	// opMu, so that it never holds up a leave, a heartbeat or shutdown.
	rec := Record{Salt: NewSalt(), KDF: s.cfg.KDF}
	key, err := s.deriveKey(ctx, password, rec.Salt, rec.KDF)
	if err != nil {
		return Invite{}, fmt.Errorf("create room: %w", err)
	}
	rec.Verifier = key.Verifier()

	s.opMu.Lock()
	defer s.opMu.Unlock()
	// A random number rarely collides with an active room; when it does,
	// draw again. The salt stays: it only has to be unique, not secret.
	const attempts = 20
	for i := 0; ; i++ {
		rec.ID = NewID()
		stored, err := s.reg.Create(ctx, rec, s.credentials(key), s.cfg.LeaseTTL)
		if errors.Is(err, ErrRoomTaken) && i < attempts {
			continue
		}
		if err != nil {
			return Invite{}, err // the registry names the room
		}
		rec = stored
		break
	}
	if err := s.attach(ctx, rec.ID, rec.Generation, key, attachOptions{rec: rec, password: password}); err != nil {
		s.releaseLease(rec.ID, key)
		return Invite{}, fmt.Errorf("create room %s: %w", rec.ID, err)
	}
	s.log.Info("room created", "room", rec.ID)
	return Invite{Room: rec.ID, Password: password}, nil
}

// Join joins room id with its password. Joining a room already joined
// checks the password all the same (and, when it is right, lets this run
// make invites again).
func (s *Service) Join(ctx context.Context, id ID, password string) error {
	done, err := s.throttle(id)
	if err != nil {
		s.log.Info("join refused: paused after wrong passwords", "room", id)
		return err
	}
	defer done()
	rec, st, err := s.reg.Lookup(ctx, id)
	if err != nil {
		return fmt.Errorf("join room %s: %w", id, err)
	}
	joined := s.room(id)
	if !st.Active && joined == nil {
		return fmt.Errorf("join room %s: %w: its last member left; create a new room", id, ErrRoomInactive)
	}
	// Outside opMu, like Create's.
	key, err := s.deriveKey(ctx, password, rec.Salt, rec.KDF)
	if err != nil {
		return fmt.Errorf("join room %s: %w", id, err)
	}
	if !key.Verify(rec.Verifier) {
		n := s.failed(id)
		s.log.Info("join refused: wrong password", "room", id, "failures", n)
		return fmt.Errorf("join room %s: %w", id, ErrWrongPassword)
	}
	s.succeeded(id)

	s.opMu.Lock()
	defer s.opMu.Unlock()
	if r := s.room(id); r != nil {
		if r.key == key {
			r.setPassword(password)
		}
		return nil
	}
	if err := s.reg.Join(ctx, id, rec.Generation, s.credentials(key), s.cfg.LeaseTTL); err != nil {
		return fmt.Errorf("join room %s: %w", id, err)
	}
	if err := s.attach(ctx, id, rec.Generation, key, attachOptions{rec: rec, password: password}); err != nil {
		s.releaseLease(id, key)
		return fmt.Errorf("join room %s: %w", id, err)
	}
	if r := s.room(id); r != nil {
		r.setLeases(st.Members + 1) // until the next heartbeat counts again
	}
	s.log.Info("room joined", "room", id)
	return nil
}

// teardownTimeout bounds leaving a room, whatever the caller's context:
// a leave that the caller gave up on halfway would leave a broker session
// queueing for nobody and a lease running.
const teardownTimeout = 30 * time.Second

// Leave leaves room id: presence cleared, the broker session discarded,
// the lease released, the history dropped.
func (s *Service) Leave(ctx context.Context, id ID) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
	defer cancel()
	s.opMu.Lock()
	defer s.opMu.Unlock()
	r := s.room(id)
	if r == nil {
		if sr, ok := s.dropPending(id); ok {
			// Saved but never reopened in this run: there is no session to
			// close here, only the lease and the saved key.
			key, _ := KeyFromBytes(sr.Key) // checked by Restore
			if err := s.reg.Leave(ctx, id, s.credentials(key).Token); err != nil {
				return fmt.Errorf("leave room %s: left, but the registry did not hear it (the lease will expire): %w", id, err)
			}
			s.log.Info("room left", "room", id)
			return nil
		}
		return fmt.Errorf("leave room %s: %w", id, ErrNotJoined)
	}
	// Out of the joined rooms before detaching: detach clears our
	// presence, the broker echoes the clear back to us, and a room still
	// joined would answer it by announcing us again (see reannounce),
	// leaving a ghost presence behind.
	s.mu.Lock()
	delete(s.rooms, id)
	s.mu.Unlock()
	s.detach(ctx, r, true)
	r.files.close()
	s.save()
	err := s.reg.Leave(ctx, id, s.credentials(r.key).Token)
	s.hub.emit(Event{Kind: EventLeft, Room: id})
	s.log.Info("room left", "room", id)
	if err != nil {
		// The lease runs out by itself; the member count is right again
		// within the lease time.
		return fmt.Errorf("leave room %s: left, but the registry did not hear it (the lease will expire): %w", id, err)
	}
	return nil
}

// Rooms returns the joined rooms, ordered by number.
func (s *Service) Rooms() []RoomInfo {
	s.mu.Lock()
	rs := make([]*room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rs = append(rs, r)
	}
	s.mu.Unlock()
	out := make([]RoomInfo, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.info(s.me))
	}
	slices.SortFunc(out, func(a, b RoomInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Room returns one joined room.
func (s *Service) Room(id ID) (RoomInfo, error) {
	r := s.room(id)
	if r == nil {
		return RoomInfo{}, fmt.Errorf("room %s: %w", id, ErrNotJoined)
	}
	return r.info(s.me), nil
}

// History returns the messages of a joined room kept in this run, oldest
// first.
func (s *Service) History(id ID) ([]Message, error) {
	r := s.room(id)
	if r == nil {
		return nil, fmt.Errorf("room %s: %w", id, ErrNotJoined)
	}
	return r.history(), nil
}

// InviteFor returns the invite of a joined room, if its password is known
// to this run of the daemon.
func (s *Service) InviteFor(id ID) (Invite, error) {
	r := s.room(id)
	if r == nil {
		return Invite{}, fmt.Errorf("room %s: %w", id, ErrNotJoined)
	}
	p := r.invitePassword()
	if p == "" {
		return Invite{}, fmt.Errorf("room %s: the password is not kept across restarts; ask a member who knows it", id)
	}
	return Invite{Room: id, Password: p}, nil
}

func (s *Service) room(id ID) *room {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rooms[id]
}

// releaseLease gives a lease back after a failed join, on a fresh context:
// the caller's may be what failed.
func (s *Service) releaseLease(id ID, k Key) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.reg.Leave(ctx, id, s.credentials(k).Token); err != nil {
		s.log.Warn("release lease after failed join", "room", id, "err", err)
	}
}

// persist writes the state file, with every mark recorded before the
// call, before it returns, and reports whether it did: a message is shown
// only once its mark is on disk, so that neither a crash nor a replay
// shows it twice. Callers that come while a write is under way share the
// next one (a group commit), so a burst costs a write per batch, not per
// message. After Shutdown nothing is written, and it reports false.
func (s *Service) persist() bool {
	want := s.saveWanted.Add(1)
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	if s.saveDone.Load() >= want {
		return true // written by the one before us, after we asked
	}
	upTo := s.saveWanted.Load()
	if !s.save() {
		return false
	}
	s.saveDone.Store(upTo)
	return true
}

// save writes the state file, and reports whether it did (not after
// Shutdown, nor when writing failed).
func (s *Service) save() bool {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return false
	}
	if s.store == nil {
		// Nothing to write (tests, benchmarks), but stopped all the same:
		// nothing is shown after Shutdown.
		s.mu.Unlock()
		return true
	}
	saved := make([]SavedRoom, 0, len(s.rooms)+len(s.pending))
	for _, r := range s.rooms {
		saved = append(saved, r.saved())
	}
	for _, sr := range s.pending {
		saved = append(saved, sr)
	}
	s.mu.Unlock()
	slices.SortFunc(saved, func(a, b SavedRoom) int { return cmp.Compare(a.ID, b.ID) })
	if err := s.store.SaveRooms(saved); err != nil {
		s.log.Error("save joined rooms", "err", err)
		return false
	}
	return true
}

// kdfParallel is how many key derivations may run at once.
const kdfParallel = 2

// deriveKey is DeriveKey, at most kdfParallel at a time.
func (s *Service) deriveKey(ctx context.Context, password string, salt []byte, p KDFParams) (Key, error) {
	select {
	case s.kdfSlots <- struct{}{}:
	case <-ctx.Done():
		return Key{}, ctx.Err()
	}
	defer func() { <-s.kdfSlots }()
	return DeriveKey(password, salt, p)
}
