package rooms

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"
)

// registryTimeout bounds a heartbeat: an unreachable registry must not
// stall the loop past the next beat. A clustered registry needs more than
// one call's time: a Galera cluster that lost a node stalls for 6–8 s
// until it has evicted it, and a call on a frozen node is moved to
// another after a while (db's failover, docs/scaling.md).
const registryTimeout = 20 * time.Second

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
	s.refreshPresence()
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
		for _, r := range s.joined() {
			s.setRegistry(r, RegistryUnreachable)
		}
		return
	}
	if wasDown {
		s.log.Info("registry reachable again; leases renewed")
	}
	for id, n := range counts {
		if r := s.room(id); r != nil {
			if r.setLeases(n) {
				s.hub.emit(Event{Kind: EventMembers, Room: id})
			}
			s.setRegistry(r, RegistryOK)
		}
	}
	for _, id := range gone {
		s.gone(ctx, id)
	}
	s.retryPending(ctx)
}

// joined returns the joined rooms.
func (s *Service) joined() []*room {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := make([]*room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rs = append(rs, r)
	}
	return rs
}

// setRegistry records what the registry said of r, and tells the user
// when that changes.
func (s *Service) setRegistry(r *room, state string) {
	if r.setRegistryState(state) {
		s.hub.emit(Event{Kind: EventMembers, Room: r.id})
	}
}

// refreshPresence announces this member again in every room, so that the
// others keep it in their member lists, and drops the members whose
// presence has not come for PresenceTTL.
func (s *Service) refreshPresence() {
	now := time.Now()
	for _, r := range s.joined() {
		s.reannounce(r)
		if r.expireStale(s.me, now, s.cfg.PresenceTTL) {
			s.hub.emit(Event{Kind: EventMembers, Room: r.id})
		}
	}
}

// gone handles a room that the registry says is gone: its rows were
// deleted, or its number names another room now. The registry is not
// trusted to end a conversation: the room is registered again as its
// members know it where that can be done. Where it cannot (the number was
// given to a new room), the room goes on over the broker as long as
// anyone else is in it, and the user is told; only a room that has nobody
// else in it, its number reused, is closed — our lease lapsed (a laptop
// asleep) and the room ended without us.
func (s *Service) gone(ctx context.Context, id ID) {
	r := s.room(id)
	if r == nil {
		return // pending: decided once its session is open
	}
	rec, alone := r.registryView(s.me, s.cfg.Heartbeat)
	if len(rec.Salt) == 0 {
		// Joined before records were saved: ask the registry what it has.
		if found, _, err := s.reg.Lookup(ctx, id); err == nil && found.Generation == r.gen && r.key.Verify(found.Verifier) {
			rec = found
		}
	}
	var err error
	if len(rec.Salt) > 0 {
		cctx, cancel := context.WithTimeout(ctx, registryTimeout)
		err = s.reg.Reregister(cctx, rec, s.credentials(r.key), s.cfg.LeaseTTL)
		cancel()
		if err == nil {
			s.log.Warn("the registry had lost this room; registered it again", "room", id)
			s.setRegistry(r, RegistryOK)
			return
		}
	}
	if errors.Is(err, ErrRoomTaken) {
		if alone {
			s.closed(ctx, id)
			return
		}
		s.log.Warn("the registry gave this room's number to another room; the conversation goes on over the broker, but nobody new can join it by number", "room", id)
		s.setRegistry(r, RegistryReused)
		return
	}
	s.log.Warn("the registry lost this room and it could not be registered again; the conversation goes on over the broker, and it is tried again at every heartbeat", "room", id, "err", err)
	s.setRegistry(r, RegistryLost)
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
// reused by a new room while our lease had lapsed, and nobody else is in
// it (see gone).
func (s *Service) closed(ctx context.Context, id ID) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
	defer cancel()
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

// Restore rejoins the rooms saved by an earlier run, with their keys: one
// registry call takes the leases back (a room keeps its members across
// their restarts as long as its number was not given to a new room), then
// each room's broker session is opened. A room that the registry says is
// gone meanwhile is opened all the same (see gone). A room whose session cannot be opened stays saved
// and is tried again at each heartbeat: its key must not be lost to a
// passing failure. Only an unreachable registry fails Restore, and then
// nothing is changed.
func (s *Service) Restore(ctx context.Context, saved []SavedRoom) error {
	s.opMu.Lock()
	defer s.opMu.Unlock()

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
	// Rooms the registry says are gone are opened all the same: the
	// first heartbeat registers them again, or closes them if nobody
	// else is in them (see gone).
	_ = gone
	// Every room is pending until its session is open (attach takes it
	// off the list): a state file written meanwhile — the marks of
	// messages that arrive as the first rooms open — keeps the others.
	s.mu.Lock()
	maps.Copy(s.pending, byID)
	s.mu.Unlock()
	defer s.save() // once more, with everything Restore did

	var wg sync.WaitGroup
	sem := make(chan struct{}, restoreParallel)
	for id, sr := range byID {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := s.attach(ctx, id, sr.Generation, keys[id], savedOptions(sr)); err != nil {
				s.log.Error("rejoin room: kept, to try again", "room", id, "err", err)
				s.mu.Lock()
				s.pending[id] = sr
				s.mu.Unlock()
				return
			}
			if r := s.room(id); r != nil {
				r.setLeases(max(counts[id], 1))
			}
		}()
	}
	wg.Wait()
	return nil
}

// savedOptions are the attachOptions of a saved room.
func savedOptions(sr SavedRoom) attachOptions {
	rec, _ := sr.record()
	return attachOptions{rec: rec, notify: sr.level(), joinedAt: sr.JoinedAt, marks: sr.Marks, older: sr.OlderPeers}
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
		err := s.attach(actx, sr.ID, sr.Generation, key, savedOptions(sr))
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
//
// It is quick whatever answers: every room's presence and every lease are
// handled at once, and nothing is waited for past ctx's deadline. What is
// not done by then is done for us: a broker that did not acknowledge the
// clear either gets it before our DISCONNECT or, missing both, publishes
// our Will (the same empty presence); a lease not released expires. What
// the sessions had not handled is not acknowledged, and comes again at the
// next start.
func (s *Service) Shutdown(ctx context.Context) {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	// No batch of messages between its marks and its showing (see
	// showBatch) while the last write is made and the rooms stop: the
	// batches under way are shown, the later ones refused, and the marks
	// on disk are those of messages shown.
	s.showMu.Lock()
	s.save()
	s.mu.Lock()
	rs := make([]*room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rs = append(rs, r)
	}
	s.rooms = make(map[ID]*room)
	s.stopped = true
	s.mu.Unlock()
	s.showMu.Unlock()
	// Every message shown (and its event) came before the stop, under
	// showMu; none comes after.
	s.showEndedOnce.Do(func() { close(s.showEnded) })
	var wg sync.WaitGroup
	for _, r := range rs {
		wg.Add(2)
		go func() {
			defer wg.Done()
			s.detach(ctx, r, false)
		}()
		// The lease is released alongside, not after: an unreachable
		// broker must not leave the registry no time, nor the other way.
		go func() {
			defer wg.Done()
			if err := s.reg.Leave(ctx, r.id, s.credentials(r.key).Token); err != nil {
				s.log.Warn("release lease at shutdown (it will expire)", "room", r.id, "err", err)
			}
		}()
	}
	wg.Wait()
}
