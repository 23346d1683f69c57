package rooms

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// registryTimeout bounds a heartbeat: an unreachable registry must not
// stall the loop past the next beat.
const registryTimeout = 10 * time.Second

// restoreParallel bounds how many rooms are rejoined at once at start.
const restoreParallel = 8

// Run renews the leases of the joined rooms and delivers notifications
// until ctx ends. It does not leave the rooms; call Shutdown for that.
func (s *Service) Run(ctx context.Context) error {
	go s.notifyLoop(ctx)
	s.heartbeat(ctx) // counts for the rooms just restored
	t := time.NewTicker(s.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.heartbeat(ctx)
		}
	}
}

// heartbeat renews every lease in one registry call. While the registry
// is unreachable the rooms keep chatting over the broker; the leases are
// renewed (or taken again) as soon as it answers.
func (s *Service) heartbeat(ctx context.Context) {
	s.mu.Lock()
	leases := make([]Lease, 0, len(s.rooms))
	for _, r := range s.rooms {
		leases = append(leases, Lease{Room: r.id, Generation: r.gen})
	}
	s.mu.Unlock()
	if len(leases) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, registryTimeout)
	counts, gone, err := s.reg.Renew(cctx, s.me, leases, s.cfg.LeaseTTL)
	cancel()
	s.mu.Lock()
	wasDown := s.dbDown
	s.dbDown = err != nil
	s.mu.Unlock()
	if err != nil {
		if !wasDown {
			s.log.Warn("registry unreachable: rooms keep chatting; leases will be renewed when it answers", "err", err)
		}
		return
	}
	if wasDown {
		s.log.Info("registry reachable again; leases renewed")
	}
	for id, n := range counts {
		if r := s.room(id); r != nil {
			r.mu.Lock()
			changed := r.leases != n
			r.leases = n
			r.mu.Unlock()
			if changed {
				s.hub.emit(Event{Kind: EventMembers, Room: id})
			}
		}
	}
	for _, id := range gone {
		s.closed(ctx, id)
	}
}

// closed drops a room that ended without us leaving it: its number was
// reused by a new room while our lease had lapsed.
func (s *Service) closed(ctx context.Context, id ID) {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	r := s.room(id)
	if r == nil {
		return
	}
	// Out of the joined rooms first, as in Leave.
	s.mu.Lock()
	delete(s.rooms, id)
	s.mu.Unlock()
	s.detach(ctx, r, true)
	s.save()
	s.log.Warn("room closed: it was empty and its number has been reused", "room", id)
	s.hub.emit(Event{Kind: EventClosed, Room: id})
}

// Restore rejoins the rooms saved by an earlier run, with their keys. A
// room that became inactive meanwhile is dropped (and logged); any other
// failure — an unreachable registry or broker — is returned.
func (s *Service) Restore(ctx context.Context, saved []SavedRoom) error {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		drop bool
		sem  = make(chan struct{}, restoreParallel)
	)
	for _, sr := range saved {
		key, err := KeyFromBytes(sr.Key)
		if err != nil {
			s.log.Error("saved room has a bad key; dropped", "room", sr.ID, "err", err)
			drop = true
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			err := s.reg.Join(ctx, sr.ID, sr.Generation, s.me, s.cfg.LeaseTTL)
			if errors.Is(err, ErrRoomInactive) || errors.Is(err, ErrNoSuchRoom) {
				s.log.Info("room closed while SunOye was not running; dropped", "room", sr.ID)
				mu.Lock()
				drop = true
				mu.Unlock()
				return
			}
			if err == nil {
				err = s.attach(ctx, sr.ID, sr.Generation, key, "", sr.Muted)
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("rejoin room %s: %w", sr.ID, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if drop {
		s.save()
	}
	return errors.Join(errs...)
}

// Shutdown ends this run cleanly: in every room the presence is cleared
// and the lease released, so the others see at once that we are gone; the
// broker keeps each room's session, and the state file the room keys, so
// that the next start rejoins and receives what was sent meanwhile.
func (s *Service) Shutdown(ctx context.Context) {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.mu.Lock()
	rs := make([]*room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rs = append(rs, r)
	}
	s.rooms = make(map[ID]*room)
	s.stopped = true
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.detach(ctx, r, false)
			if err := s.reg.Leave(ctx, r.id, s.me); err != nil {
				s.log.Warn("release lease at shutdown (it will expire)", "room", r.id, "err", err)
			}
		}()
	}
	wg.Wait()
}
