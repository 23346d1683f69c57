package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/gofrs/flock"

	"github.com/sunoye/sunoye/rooms"
)

// The state directory holds, all private to the user:
//
//	daemon.lock   held (flock) by the running daemon; contains its pid
//	sunoye.sock   the local API
//	state.json    identity, joined rooms with their keys (never passwords),
//	              and the rooms paused after wrong passwords
//	registry.db   the embedded registry, when no --db is given
const (
	lockFile   = "daemon.lock"
	socketFile = "sunoye.sock"
	stateFile  = "state.json"
)

func socketPath(stateDir string) string { return filepath.Join(stateDir, socketFile) }

// lockStateDir takes the state directory for this daemon, or says which
// daemon has it.
func lockStateDir(dir string) (*flock.Flock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	// MkdirAll leaves an existing directory's mode alone; the socket and
	// keys inside must not be reachable by others.
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("restrict state directory: %w", err)
	}
	path := filepath.Join(dir, lockFile)
	l := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o600))
	ok, err := l.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock state directory %s: %w", dir, err)
	}
	if !ok {
		pid := "?"
		if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			pid = strings.TrimSpace(string(b))
		}
		return nil, fmt.Errorf("%w: another sunoye daemon (pid %s) is running with state directory %s; stop it first, or use another --state-dir", errLocked, pid, dir)
	}
	// Record our pid for the message above; the lock itself is the flock.
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		l.Unlock()
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return l, nil
}

// state is the content of state.json.
type state struct {
	Version  int    `json:"version"`
	Identity []byte `json:"identity"` // Ed25519 seed
	// Run counts the daemon's starts (rooms.Config.Run).
	Run   uint64            `json:"run,omitempty"`
	Rooms []rooms.SavedRoom `json:"rooms"`
	// FailedJoins are the rooms with wrong passwords in a row: a restart
	// resumes their pauses.
	FailedJoins []rooms.FailedJoins `json:"failed_joins,omitempty"`
}

// stateStore reads and writes state.json; it implements rooms.StateStore
// and rooms.AttemptStore.
type stateStore struct {
	path string
	mu   sync.Mutex
	st   state
}

// loadState reads the state file, creating a new identity on first start.
func loadState(dir string) (*stateStore, error) {
	s := &stateStore{path: filepath.Join(dir, stateFile)}
	b, err := os.ReadFile(s.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		s.st = state{Version: 1, Identity: rooms.NewIdentity().Seed()}
		return s, s.write()
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", s.path, err)
	}
	if err := json.Unmarshal(b, &s.st); err != nil {
		return nil, fmt.Errorf("read %s: %w (move it away to start afresh; your rooms would have to be joined again)", s.path, err)
	}
	if s.st.Version != 1 {
		return nil, fmt.Errorf("read %s: unknown version %d", s.path, s.st.Version)
	}
	return s, nil
}

// nextRun counts this start and saves the count before the daemon sends
// anything, so that no two starts share a run (see rooms.Config.Run),
// even when the clock goes back.
func (s *stateStore) nextRun() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Run++
	return s.st.Run, s.write()
}

func (s *stateStore) identity() (rooms.Identity, error) {
	return rooms.IdentityFromSeed(s.st.Identity)
}

func (s *stateStore) rooms() []rooms.SavedRoom {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]rooms.SavedRoom(nil), s.st.Rooms...)
}

// SaveRooms implements rooms.StateStore.
func (s *stateStore) SaveRooms(saved []rooms.SavedRoom) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Rooms = saved
	return s.write()
}

// FailedJoins implements rooms.AttemptStore.
func (s *stateStore) FailedJoins() []rooms.FailedJoins {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]rooms.FailedJoins(nil), s.st.FailedJoins...)
}

// SaveFailedJoins implements rooms.AttemptStore.
func (s *stateStore) SaveFailedJoins(f []rooms.FailedJoins) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.FailedJoins = f
	return s.write()
}

// write replaces the file atomically, so a crash leaves the old or the new
// state, never half of one.
func (s *stateStore) write() error {
	b, err := json.MarshalIndent(s.st, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".state-*.json")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("save state: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("save state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}
