package rooms

import (
	"context"
	"time"
)

// Failed joins slow down per room: each guess already costs an Argon2id
// derivation, and after freeAttempts wrong passwords in a row every
// further attempt on that room waits longer, up to maxDelay. The right
// password still works; it is only slower to find by trying.
const (
	freeAttempts  = 5
	firstDelay    = 250 * time.Millisecond
	maxDelay      = 5 * time.Second
	failureMemory = 15 * time.Minute
	maxTracked    = 1024
)

type failures struct {
	n    int
	last time.Time
}

func (s *Service) throttle(ctx context.Context, id ID) error {
	s.mu.Lock()
	f := s.failures[id]
	var delay time.Duration
	if f != nil && time.Since(f.last) < failureMemory && f.n >= freeAttempts {
		delay = firstDelay << min(f.n-freeAttempts, 8)
		delay = min(delay, maxDelay)
	}
	s.mu.Unlock()
	if delay == 0 {
		return nil
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Service) failed(id ID) {
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
}

func (s *Service) succeeded(id ID) {
	s.mu.Lock()
	delete(s.failures, id)
	s.mu.Unlock()
}
