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

// The records live in Service.failures, under Service.mu, and are saved
// to Config.Attempts after every change, so that a restart resumes a pause
// (and the count that lengthens the next one) instead of lifting it.
type failures struct {
	n     int
	last  time.Time
	until time.Time // attempts before this are refused
	// trying is set while the one attempt let through after a pause is
	// being checked: attempts that come meanwhile are refused, or every
	// pause's end would let through as many guesses as arrive at once.
	trying bool
}

// loadFailures returns the records that store saved, less those
// forgotten by now.
func loadFailures(store AttemptStore) map[ID]*failures {
	m := make(map[ID]*failures)
	if store == nil {
		return m
	}
	now := time.Now()
	for _, f := range store.FailedJoins() {
		if len(m) >= maxTracked {
			break
		}
		if f.Count > 0 && now.Sub(f.Last) <= failureMemory && validID(f.Room) {
			m[f.Room] = &failures{n: f.Count, last: f.Last, until: f.Until}
		}
	}
	return m
}

// saveFailures saves the records; s.mu is held, so that saves happen in
// the order of the changes. It costs a file write on a wrong password,
// which has just cost a key derivation.
func (s *Service) saveFailures(now time.Time) {
	if s.cfg.Attempts == nil {
		return
	}
	out := make([]FailedJoins, 0, len(s.failures))
	for id, f := range s.failures {
		if now.Sub(f.last) <= failureMemory {
			out = append(out, FailedJoins{Room: id, Count: f.n, Last: f.last, Until: f.until})
		}
	}
	if err := s.cfg.Attempts.SaveFailedJoins(out); err != nil {
		s.log.Warn("cannot save the record of wrong passwords: a restart would end the pauses", "err", err)
	}
}

// throttle refuses an attempt on room id during its pause, and after it
// lets one attempt at a time through; the caller calls done once the
// attempt is over.
func (s *Service) throttle(id ID) (done func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.failures[id]
	if f == nil {
		return func() {}, nil
	}
	if wait := time.Until(f.until); wait > 0 {
		return nil, fmt.Errorf("join room %s: %w: try again in %s", id, ErrTooManyAttempts, wait.Round(time.Second)+time.Second)
	}
	if f.n >= freeAttempts {
		if f.trying {
			return nil, fmt.Errorf("join room %s: %w: another attempt is being checked; try again in a second", id, ErrTooManyAttempts)
		}
		f.trying = true
	}
	return func() {
		s.mu.Lock()
		f.trying = false
		s.mu.Unlock()
	}, nil
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
	s.saveFailures(now)
	return f.n
}

func (s *Service) succeeded(id ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.failures[id]; ok {
		delete(s.failures, id)
		s.saveFailures(time.Now())
	}
}

func validID(id ID) bool {
	_, err := ParseID(string(id))
	return err == nil
}
