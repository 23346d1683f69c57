package rooms

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
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
	// KDF is used for rooms this daemon creates.
	KDF    KDFParams
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
	Muted      bool   `json:"muted,omitempty"`
	// SeenUntil is when the daemon last stopped cleanly (Unix ms): messages
	// older than that, replayed by someone who recorded them, are not
	// shown again.
	SeenUntil int64 `json:"seen_until,omitempty"`
}

// StateStore keeps the joined rooms across restarts.
type StateStore interface {
	SaveRooms(rooms []SavedRoom) error
}

// Service joins, leaves and sends: the daemon's core. It is safe for
// concurrent use.
type Service struct {
	cfg   Config
	me    MemberID
	reg   Registry
	tr    Transport
	store StateStore
	log   *slog.Logger
	hub   hub

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
	failures map[ID]*failures

	notes *noteQueue // incoming messages to notify about

	// kdfSlots bounds concurrent key derivations: each takes 64 MiB, and a
	// burst of join requests must not take gigabytes.
	kdfSlots chan struct{}

	// saveMu orders writes of the state file: a snapshot taken later is
	// written later. restoring suppresses saves until Restore has
	// attached every room it can, and pending holds saved rooms that could
	// not be attached yet: they stay in the state file.
	saveMu    sync.Mutex
	restoring bool
	pending   map[ID]SavedRoom
}

// NewService returns a Service that has joined no room yet; see Restore.
func NewService(cfg Config, reg Registry, tr Transport, store StateStore) (*Service, error) {
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = cfg.LeaseTTL / 3
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
		cfg:      cfg,
		me:       cfg.Identity.Member(),
		reg:      reg,
		tr:       tr,
		store:    store,
		log:      cfg.Logger,
		rooms:    make(map[ID]*room),
		name:     cfg.Name,
		focused:  make(map[ID]int),
		failures: loadFailures(cfg.Attempts),
		notes:    newNoteQueue(),
		kdfSlots: make(chan struct{}, kdfParallel),
		pending:  make(map[ID]SavedRoom),
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
		stored, err := s.reg.Create(ctx, rec, s.me, s.cfg.LeaseTTL)
		if errors.Is(err, ErrRoomTaken) && i < attempts {
			continue
		}
		if err != nil {
			return Invite{}, err // the registry names the room
		}
		rec = stored
		break
	}
	if err := s.attach(ctx, rec.ID, rec.Generation, key, attachOptions{password: password}); err != nil {
		s.releaseLease(rec.ID)
		return Invite{}, fmt.Errorf("create room %s: %w", rec.ID, err)
	}
	s.log.Info("room created", "room", rec.ID)
	return Invite{Room: rec.ID, Password: password}, nil
}

// Join joins room id with its password. Joining a room already joined
// checks the password all the same (and, when it is right, lets this run
// make invites again).
func (s *Service) Join(ctx context.Context, id ID, password string) error {
	if err := s.throttle(id); err != nil {
		s.log.Info("join refused: paused after wrong passwords", "room", id)
		return err
	}
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
			r.mu.Lock()
			r.password = password
			r.mu.Unlock()
		}
		return nil
	}
	if err := s.reg.Join(ctx, id, rec.Generation, s.me, s.cfg.LeaseTTL); err != nil {
		return fmt.Errorf("join room %s: %w", id, err)
	}
	if err := s.attach(ctx, id, rec.Generation, key, attachOptions{password: password}); err != nil {
		s.releaseLease(id)
		return fmt.Errorf("join room %s: %w", id, err)
	}
	if r := s.room(id); r != nil {
		r.mu.Lock()
		r.leases = st.Members + 1 // until the next heartbeat counts again
		r.mu.Unlock()
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
		if s.dropPending(id) {
			// Saved but never reopened in this run: there is no session to
			// close here, only the lease and the saved key.
			if err := s.reg.Leave(ctx, id, s.me); err != nil {
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
	s.save()
	err := s.reg.Leave(ctx, id, s.me)
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
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hist.list(), nil
}

// InviteFor returns the invite of a joined room, if its password is known
// to this run of the daemon.
func (s *Service) InviteFor(id ID) (Invite, error) {
	r := s.room(id)
	if r == nil {
		return Invite{}, fmt.Errorf("room %s: %w", id, ErrNotJoined)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.password == "" {
		return Invite{}, fmt.Errorf("room %s: the password is not kept across restarts; ask a member who knows it", id)
	}
	return Invite{Room: id, Password: r.password}, nil
}

func (s *Service) room(id ID) *room {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rooms[id]
}

// releaseLease gives a lease back after a failed join, on a fresh context:
// the caller's may be what failed.
func (s *Service) releaseLease(id ID) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.reg.Leave(ctx, id, s.me); err != nil {
		s.log.Warn("release lease after failed join", "room", id, "err", err)
	}
}

func (s *Service) save() { s.saveAll(0) }

// saveAll writes the state file; a non-zero seenUntil is recorded for
// every room (at shutdown), otherwise each keeps what it had.
func (s *Service) saveAll(seenUntil int64) {
	if s.store == nil {
		return
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	if s.stopped || s.restoring {
		s.mu.Unlock()
		return
	}
	saved := make([]SavedRoom, 0, len(s.rooms)+len(s.pending))
	for _, r := range s.rooms {
		r.mu.Lock()
		saved = append(saved, SavedRoom{ID: r.id, Generation: r.gen, Key: r.key.Bytes(), Muted: r.muted, SeenUntil: cmp.Or(seenUntil, r.seenUntil)})
		r.mu.Unlock()
	}
	for _, sr := range s.pending {
		sr.SeenUntil = cmp.Or(seenUntil, sr.SeenUntil)
		saved = append(saved, sr)
	}
	s.mu.Unlock()
	slices.SortFunc(saved, func(a, b SavedRoom) int { return cmp.Compare(a.ID, b.ID) })
	if err := s.store.SaveRooms(saved); err != nil {
		s.log.Error("save joined rooms", "err", err)
	}
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
