package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sunoye/sunoye/rooms"
)

// kdfArgon2id is the kdf_name of rooms whose key is derived with Argon2id,
// the only KDF that rooms.KDFParams describes today.
const kdfArgon2id = "argon2id"

// Limits of the schema's columns, checked before writing so that both
// databases refuse the same values.
const (
	maxMemberID = 128
	maxBytes    = 255 // salt, verifier
)

// Create stores rec as a new room with creator's lease, or replaces an
// inactive room of that number with generation+1, deleting its old
// leases. It returns rooms.ErrRoomTaken if the room is active.
func (r *Registry) Create(ctx context.Context, rec rooms.Record, creator rooms.MemberID, ttl time.Duration) (rooms.Record, error) {
	if err := checkRecord(rec); err != nil {
		return rooms.Record{}, fmt.Errorf("create room %s: %w", rec.ID, err)
	}
	ms, err := leaseMillis(creator, ttl)
	if err != nil {
		return rooms.Record{}, fmt.Errorf("create room %s: %w", rec.ID, err)
	}
	for range 3 {
		rec.Generation, err = r.create(ctx, rec, creator, ms)
		if !errors.Is(err, errRetry) {
			break
		}
	}
	if err != nil {
		return rooms.Record{}, fmt.Errorf("create room %s: %w", rec.ID, r.wrapErr(err))
	}
	return rec, nil
}

// create is one attempt of Create. It returns errRetry if the room
// vanished between its two transactions.
func (r *Registry) create(ctx context.Context, rec rooms.Record, creator rooms.MemberID, ms int64) (int64, error) {
	// A fresh random number is the common case: insert it outright.
	// A bare INSERT takes no gap locks, so creators of different
	// numbers never wait for each other.
	err := r.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, r.q.insertRoom, string(rec.ID), 1, rec.Salt, kdfArgon2id,
			rec.KDF.Time, rec.KDF.MemoryKiB, rec.KDF.Threads, rec.Verifier); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, r.q.insertLease, string(rec.ID), 1, string(creator), ms)
		return err
	})
	if err == nil {
		return 1, nil
	}
	if !r.dialect.isDuplicate(err) {
		return 0, err
	}
	// The number exists (or another creator has just inserted it and
	// we waited for its commit). A new transaction, so that it starts
	// by locking the row exclusively, rather than upgrading the shared
	// lock that the failed insert took, which deadlocks with others
	// doing the same.
	var gen int64
	err = r.inTx(ctx, func(tx *sql.Tx) error {
		switch err := tx.QueryRowContext(ctx, r.q.lockRoom, string(rec.ID)).Scan(&gen); {
		case errors.Is(err, sql.ErrNoRows):
			return errRetry // deleted since our insert failed
		case err != nil:
			return err
		}
		var live int64
		if err := tx.QueryRowContext(ctx, r.q.lockLive, string(rec.ID)).Scan(&live); err != nil {
			return err
		}
		if live > 0 {
			return rooms.ErrRoomTaken
		}
		gen++
		if _, err := tx.ExecContext(ctx, r.q.deleteLeases, string(rec.ID)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, r.q.replaceRoom, gen, rec.Salt, kdfArgon2id,
			rec.KDF.Time, rec.KDF.MemoryKiB, rec.KDF.Threads, rec.Verifier, string(rec.ID)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, r.q.insertLease, string(rec.ID), gen, string(creator), ms); err != nil {
			return err
		}
		return nil
	})
	return gen, err
}

// Lookup returns a room's record and its status, derived from its live
// leases, or rooms.ErrNoSuchRoom.
func (r *Registry) Lookup(ctx context.Context, id rooms.ID) (rooms.Record, rooms.Status, error) {
	rec := rooms.Record{ID: id}
	var (
		kdf     string
		members int
	)
	err := r.retry(ctx, func() error {
		return r.db.QueryRowContext(ctx, r.q.lookup, string(id)).Scan(&rec.Generation, &rec.Salt, &kdf,
			&rec.KDF.Time, &rec.KDF.MemoryKiB, &rec.KDF.Threads, &rec.Verifier, &members)
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return rooms.Record{}, rooms.Status{}, fmt.Errorf("look up room %s: %w", id, rooms.ErrNoSuchRoom)
	case err != nil:
		return rooms.Record{}, rooms.Status{}, fmt.Errorf("look up room %s: %w", id, r.wrapErr(err))
	case kdf != kdfArgon2id:
		// Created by a newer SunOye: deriving a key with the wrong
		// function would only yield "wrong password".
		return rooms.Record{}, rooms.Status{}, fmt.Errorf("look up room %s: its key derivation %q is unknown to this version of SunOye", id, kdf)
	}
	return rec, rooms.Status{Members: members, Active: members > 0}, nil
}

// Join gives member a lease on room id of generation gen, or renews it. It
// returns rooms.ErrNoSuchRoom for an unknown number and
// rooms.ErrRoomInactive if the room's generation is not gen or nobody
// (member included) holds a live lease.
func (r *Registry) Join(ctx context.Context, id rooms.ID, gen int64, member rooms.MemberID, ttl time.Duration) error {
	ms, err := leaseMillis(member, ttl)
	if err != nil {
		return fmt.Errorf("join room %s: %w", id, err)
	}
	err = r.inTx(ctx, func(tx *sql.Tx) error {
		var cur int64
		switch err := tx.QueryRowContext(ctx, r.q.lockRoom, string(id)).Scan(&cur); {
		case errors.Is(err, sql.ErrNoRows):
			return rooms.ErrNoSuchRoom
		case err != nil:
			return err
		}
		if cur != gen {
			// The room this member knew ended and its number was taken
			// again: the new room has another password and key.
			return fmt.Errorf("%w (the number was reused)", rooms.ErrRoomInactive)
		}
		var live, mine int64
		if err := tx.QueryRowContext(ctx, r.q.joinCounts, string(member), string(id)).Scan(&live, &mine); err != nil {
			return err
		}
		if live == 0 {
			return rooms.ErrRoomInactive
		}
		if mine > 0 {
			_, err := tx.ExecContext(ctx, r.q.updateLease, gen, ms, string(id), string(member))
			return err
		}
		_, err := tx.ExecContext(ctx, r.q.insertLease, string(id), gen, string(member), ms)
		return err
	})
	if err != nil {
		return fmt.Errorf("join room %s: %w", id, r.wrapErr(err))
	}
	return nil
}

// Leave ends member's lease on room id. Leaving a room one is not in is
// not an error. The room becomes inactive when its last live lease ends.
func (r *Registry) Leave(ctx context.Context, id rooms.ID, member rooms.MemberID) error {
	err := r.retry(ctx, func() error {
		_, err := r.db.ExecContext(ctx, r.q.leave, string(id), string(member))
		return err
	})
	if err != nil {
		return fmt.Errorf("leave room %s: %w", id, r.wrapErr(err))
	}
	return nil
}

// checkRecord refuses what the registry cannot store or should not.
func checkRecord(rec rooms.Record) error {
	if id, err := rooms.ParseID(string(rec.ID)); err != nil || id != rec.ID {
		return fmt.Errorf("%w %q", rooms.ErrBadRoomNumber, rec.ID)
	}
	if len(rec.Salt) == 0 || len(rec.Salt) > maxBytes {
		return fmt.Errorf("%w: salt of %d bytes, want 1 to %d", rooms.ErrInvalid, len(rec.Salt), maxBytes)
	}
	if len(rec.Verifier) == 0 || len(rec.Verifier) > maxBytes {
		return fmt.Errorf("%w: verifier of %d bytes, want 1 to %d", rooms.ErrInvalid, len(rec.Verifier), maxBytes)
	}
	return nil
}

// leaseMillis checks a member id and returns ttl in whole milliseconds,
// rounded up.
func leaseMillis(member rooms.MemberID, ttl time.Duration) (int64, error) {
	if member == "" || len(member) > maxMemberID {
		return 0, fmt.Errorf("%w: member id of %d bytes, want 1 to %d", rooms.ErrInvalid, len(member), maxMemberID)
	}
	if ttl <= 0 {
		return 0, fmt.Errorf("%w: lease time %v is not positive", rooms.ErrInvalid, ttl)
	}
	return int64((ttl + time.Millisecond - 1) / time.Millisecond), nil
}

// isDomain reports whether err is one of the errors that package rooms
// defines for registries, which callers tell apart with errors.Is.
func isDomain(err error) bool {
	return errors.Is(err, rooms.ErrNoSuchRoom) ||
		errors.Is(err, rooms.ErrRoomInactive) ||
		errors.Is(err, rooms.ErrRoomTaken)
}
