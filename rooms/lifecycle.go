package rooms

import (
	"context"
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
	// The saved rooms whose sessions could not be opened keep their
	// leases too, in the same call: they are members, only offline.
	s.mu.Lock()
	leases := make([]Lease, 0, len(s.rooms)+len(s.pending))
	for _, r := range s.rooms {
		leases = append(leases, s.lease(r.id, r.gen, r.key))
	}
	for _, sr := range s.pending {
		key, _ := KeyFromBytes(sr.Key) // checked by Restore
		leases = append(leases, s.lease(sr.ID, sr.Generation, key))
	}
	s.mu.Unlock()
	if len(leases) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, registryTimeout)
	counts, gone, err := s.reg.Renew(cctx, leases, s.cfg.LeaseTTL)
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
	s.retryPending(ctx)
}

// dropPending forgets a saved room that will not be rejoined, and returns
// it if it was pending.
func (s *Service) dropPending(id ID) (SavedRoom, bool) {
	s.mu.Lock()
	sr, ok := s.pending[id]
	delete(s.pending, id)
	s.mu.Unlock()
	if ok {
		s.save()
	}
	return sr, ok
}

// closed drops a room that ended without us leaving it: its number was
// reused by a new room while our lease had lapsed.
func (s *Service) closed(ctx context.Context, id ID) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
	defer cancel()
	s.opMu.Lock()
	defer s.opMu.Unlock()
	r := s.room(id)
	if r == nil {
		if _, ok := s.dropPending(id); ok {
			s.log.Warn("saved room dropped: it was empty and its number has been reused", "room", id)
		}
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

// Restore rejoins the rooms saved by an earlier run, with their keys: one
// registry call takes the leases back (a room keeps its members across
// their restarts as long as its number was not given to a new room), then
// each room's broker session is opened. A room that is gone meanwhile is
// dropped, and logged. A room whose session cannot be opened stays saved
// and is tried again at each heartbeat: its key must not be lost to a
// passing failure. Only an unreachable registry fails Restore, and then
// nothing is changed.
func (s *Service) Restore(ctx context.Context, saved []SavedRoom) error {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.mu.Lock()
	s.restoring = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.restoring = false
		s.mu.Unlock()
		s.save() // once, with everything Restore did
	}()

	keys := make(map[ID]Key, len(saved))
	leases := make([]Lease, 0, len(saved))
	byID := make(map[ID]SavedRoom, len(saved))
	for _, sr := range saved {
		key, err := KeyFromBytes(sr.Key)
		if err != nil {
			s.log.Error("saved room has a bad key; dropped", "room", sr.ID, "err", err)
			continue
		}
		keys[sr.ID], byID[sr.ID] = key, sr
		leases = append(leases, s.lease(sr.ID, sr.Generation, key))
	}
	if len(leases) == 0 {
		return nil
	}
	counts, gone, err := s.reg.Renew(ctx, leases, s.cfg.LeaseTTL)
	if err != nil {
		// Nothing is saved over the state file: the rooms are all still
		// there for the next start.
		s.mu.Lock()
		s.stopped = true
		s.mu.Unlock()
		return fmt.Errorf("rejoin %d rooms: %w", len(leases), err)
	}
	for _, id := range gone {
		s.log.Info("room closed while SunOye was not running (its number now names another room); dropped", "room", id)
		delete(byID, id)
	}

	var wg sync.WaitGroup
	sem := make(chan struct{}, restoreParallel)
	for id, sr := range byID {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := s.attach(ctx, id, sr.Generation, keys[id], attachOptions{muted: sr.Muted, seenUntil: sr.SeenUntil}); err != nil {
				s.log.Error("rejoin room: kept, to try again", "room", id, "err", err)
				s.mu.Lock()
				s.pending[id] = sr
				s.mu.Unlock()
				return
			}
			if r := s.room(id); r != nil {
				r.mu.Lock()
				r.leases = max(counts[id], 1)
				r.mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return nil
}

// retryPending tries again to open the sessions of saved rooms that could
// not be opened; the heartbeat has just renewed their leases.
func (s *Service) retryPending(ctx context.Context) {
	s.mu.Lock()
	pending := make([]SavedRoom, 0, len(s.pending))
	for _, sr := range s.pending {
		pending = append(pending, sr)
	}
	s.mu.Unlock()
	if len(pending) == 0 {
		return
	}
	s.opMu.Lock()
	defer s.opMu.Unlock()
	for _, sr := range pending {
		if s.room(sr.ID) != nil {
			continue // joined again meanwhile; attach took it off the list
		}
		key, _ := KeyFromBytes(sr.Key) // checked by Restore
		actx, cancel := context.WithTimeout(ctx, registryTimeout)
		err := s.attach(actx, sr.ID, sr.Generation, key, attachOptions{muted: sr.Muted, seenUntil: sr.SeenUntil})
		cancel()
		if err != nil {
			s.log.Warn("rejoin room: still failing", "room", sr.ID, "err", err)
			continue
		}
		s.log.Info("room rejoined", "room", sr.ID)
	}
}

// Shutdown ends this run cleanly: in every room the presence is cleared
// and the lease released, so the others see at once that we are gone; the
// broker keeps each room's session, and the state file the room keys, so
// that the next start rejoins and receives what was sent meanwhile.
func (s *Service) Shutdown(ctx context.Context) {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	// The last save says until when this run saw the rooms: a message from
	// before then, published again by someone who recorded it, is not
	// shown again after the restart (see replayWindow).
	s.saveAll(time.Now().UnixMilli())
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
			if err := s.reg.Leave(ctx, r.id, s.credentials(r.key).Token); err != nil {
				s.log.Warn("release lease at shutdown (it will expire)", "room", r.id, "err", err)
			}
		}()
	}
	wg.Wait()
}
