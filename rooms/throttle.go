package rooms

import (
	"errors"
	"fmt"
	"time"
)

// ErrTooManyAttempts means a room had several wrong passwords in a row
// and takes no further attempt for a while.
var ErrTooManyAttempts = errors.New("too many wrong passwords")

// Failed joins are limited per room: each guess already costs an Argon2id
// derivation, and after freeAttempts wrong passwords in a row the room
// refuses attempts — at once, without deriving — for a pause that doubles
// with each further failure, up to maxPause. Refusing rather than
// sleeping keeps the answer quick and honest: a guess never succeeds,
// and the right password works again once the pause is over.
const (
	freeAttempts  = 5
	firstPause    = time.Second
	maxPause      = time.Minute
	failureMemory = 15 * time.Minute
	maxTracked    = 1024
)

type failures struct {
	n     int
	last  time.Time
	until time.Time // attempts before this are refused
}

// throttle refuses an attempt on room id during its pause.
func (s *Service) throttle(id ID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.failures[id]
	if f == nil {
		return nil
	}
	if wait := time.Until(f.until); wait > 0 {
		return fmt.Errorf("join room %s: %w: try again in %s", id, ErrTooManyAttempts, wait.Round(time.Second)+time.Second)
	}
	return nil
}

// failed records a wrong password and returns how many came in a row.
func (s *Service) failed(id ID) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if len(s.failures) >= maxTracked {
		for k, f := range s.failures {
			if now.Sub(f.last) > failureMemory {
				delete(s.failures, k)
			}
		}
	}
	f := s.failures[id]
	if f == nil || now.Sub(f.last) > failureMemory {
		f = &failures{}
		if len(s.failures) < maxTracked {
			s.failures[id] = f
		}
	}
	f.n++
	f.last = now
	if f.n >= freeAttempts {
		f.until = now.Add(min(firstPause<<min(f.n-freeAttempts, 16), maxPause))
	}
	return f.n
}

func (s *Service) succeeded(id ID) {
	s.mu.Lock()
	delete(s.failures, id)
	s.mu.Unlock()
}
