package db

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/sunoye/sunoye/rooms"
)

// kdfArgon2id is the kdf_name of rooms whose key is derived with Argon2id,
// the only KDF that rooms.KDFParams describes today.
const kdfArgon2id = "argon2id"

// Limits of what the registry stores, checked before writing so that both
// databases refuse the same values; the procedures of schema.sql check
// them again for whoever calls them directly.
const (
	minSalt  = 8   // as rooms.DeriveKey
	maxBytes = 255 // salt: the column's size
	// proofBytes and tokenBytes: both are HMAC-SHA-256 values
	// (rooms.Credentials).
	proofBytes = 32
	tokenBytes = 32
	// maxTTL caps a lease: nobody can hold a room open with a lease of a
	// year. Daemons renew theirs every 30 s for 90 s.
	maxTTL = 10 * time.Minute
)

// backend is what one database does for the Registry: the registry's
// rules, each operation done once (the Registry checks the arguments
// first, retries after deadlocks and names the registry in errors). On
// MySQL it calls the stored procedures of schema.sql, which enforce the
// rules against members who call them directly; on SQLite, a file of
// this machine's user, it enforces them in Go.
type backend interface {
	// version returns the schema version of the database, 0 for none.
	version(ctx context.Context) (int, error)
	// migrate runs apply where no other process applies the schema at
	// the same time.
	migrate(ctx context.Context, apply func(context.Context, execer) error) error
	// create returns the generation of the room it created.
	create(ctx context.Context, rec rooms.Record, cred rooms.Credentials, ms int64) (int64, error)
	// lookup returns the room's record, its kdf_name and its live leases,
	// or sql.ErrNoRows.
	lookup(ctx context.Context, id rooms.ID) (rooms.Record, string, int, error)
	join(ctx context.Context, id rooms.ID, gen int64, cred rooms.Credentials, ms int64) error
	// renew renews or restores one lease; ok is false if its room is gone
	// or has another generation, members the room's live leases.
	renew(ctx context.Context, l rooms.Lease, ms int64) (ok bool, members int, err error)
	reregister(ctx context.Context, rec rooms.Record, cred rooms.Credentials, ms int64) error
	leave(ctx context.Context, id rooms.ID, token []byte) error
}

// Create stores rec as a new room with the lease of cred's holder, or
// replaces an inactive room of that number with generation+1, deleting its
// old leases. It returns rooms.ErrRoomTaken if the room is active, and an
// error matching rooms.ErrWrongPassword if cred.Proof does not match
// rec.Verifier.
func (r *Registry) Create(ctx context.Context, rec rooms.Record, cred rooms.Credentials, ttl time.Duration) (rooms.Record, error) {
	ms, err := checkNewRoom(rec, cred, ttl)
	if err != nil {
		return rooms.Record{}, fmt.Errorf("create room %s: %w", rec.ID, err)
	}
	// A call that failed with its node may have committed there: the
	// room is then ours, with our lease, and running the call again finds
	// it taken. Our record (a fresh random salt) tells it apart from
	// another creator's.
	unsure := false
	err = r.retry(ctx, func(ctx context.Context) (err error) {
		rec.Generation, err = r.b.create(ctx, rec, cred, ms)
		if unsure && errors.Is(err, rooms.ErrRoomTaken) {
			got, _, _, lerr := r.b.lookup(ctx, rec.ID)
			if lerr == nil && bytes.Equal(got.Salt, rec.Salt) && bytes.Equal(got.Verifier, rec.Verifier) {
				rec.Generation = got.Generation
				return nil
			}
		}
		unsure = unsure || r.dialect.isNodeFailure(err)
		return err
	})
	if err != nil {
		return rooms.Record{}, fmt.Errorf("create room %s: %w", rec.ID, r.wrapErr(err))
	}
	return rec, nil
}

// Lookup returns a room's record and its status, derived from its live
// leases, or rooms.ErrNoSuchRoom.
func (r *Registry) Lookup(ctx context.Context, id rooms.ID) (rooms.Record, rooms.Status, error) {
	if err := checkID(id); err != nil {
		return rooms.Record{}, rooms.Status{}, fmt.Errorf("look up room %s: %w", id, err)
	}
	var (
		rec     rooms.Record
		kdf     string
		members int
	)
	err := r.retry(ctx, func(ctx context.Context) (err error) {
		rec, kdf, members, err = r.b.lookup(ctx, id)
		return err
	})
	switch {
	case isNoRows(err):
		return rooms.Record{}, rooms.Status{}, fmt.Errorf("look up room %s: %w", id, rooms.ErrNoSuchRoom)
	case err != nil:
		return rooms.Record{}, rooms.Status{}, fmt.Errorf("look up room %s: %w", id, r.wrapErr(err))
	case kdf != kdfArgon2id:
		// Created by a newer SunOye: deriving a key with the wrong
		// function would only yield "wrong password".
		return rooms.Record{}, rooms.Status{}, fmt.Errorf("look up room %s: its key derivation %q is unknown to this version of SunOye", id, kdf)
	}
	rec.ID = id
	return rec, rooms.Status{Members: members, Active: members > 0}, nil
}

// Join gives cred's holder a lease on room id of generation gen, or renews
// it. It returns rooms.ErrNoSuchRoom for an unknown number,
// rooms.ErrRoomInactive if the room's generation is not gen or nobody
// (the holder included) holds a live lease, and an error matching
// rooms.ErrWrongPassword if cred.Proof does not match the room's verifier
// (a room that predates join proofs, with a legacy verifier, skips that
// check until it ends).
func (r *Registry) Join(ctx context.Context, id rooms.ID, gen int64, cred rooms.Credentials, ttl time.Duration) error {
	ms, err := checkLease(id, cred, ttl)
	if err != nil {
		return fmt.Errorf("join room %s: %w", id, err)
	}
	if err := r.retry(ctx, func(ctx context.Context) error { return r.b.join(ctx, id, gen, cred, ms) }); err != nil {
		return fmt.Errorf("join room %s: %w", id, r.wrapErr(err))
	}
	return nil
}

// Reregister puts rec back, generation included, with the lease of cred's
// holder, if the registry has no room of that number; if it has rec's
// room (the same generation and verifier) it takes or renews the lease,
// as Join does but whether or not the room has live leases. Any other
// room of that number is rooms.ErrRoomTaken. As for Create, rec must have
// a verifier that cred.Proof matches.
func (r *Registry) Reregister(ctx context.Context, rec rooms.Record, cred rooms.Credentials, ttl time.Duration) error {
	ms, err := checkNewRoom(rec, cred, ttl)
	if err == nil && rec.Generation < 1 {
		err = fmt.Errorf("%w: generation %d", rooms.ErrInvalid, rec.Generation)
	}
	if err != nil {
		return fmt.Errorf("re-register room %s: %w", rec.ID, err)
	}
	if err := r.retry(ctx, func(ctx context.Context) error { return r.b.reregister(ctx, rec, cred, ms) }); err != nil {
		return fmt.Errorf("re-register room %s: %w", rec.ID, r.wrapErr(err))
	}
	return nil
}

// Leave ends the lease of token's holder on room id. Leaving a room one is
// not in is not an error. The room becomes inactive when its last live
// lease ends.
func (r *Registry) Leave(ctx context.Context, id rooms.ID, token []byte) error {
	err := checkID(id)
	if err == nil && len(token) != tokenBytes {
		err = fmt.Errorf("%w: lease token of %d bytes, want %d", rooms.ErrInvalid, len(token), tokenBytes)
	}
	if err != nil {
		return fmt.Errorf("leave room %s: %w", id, err)
	}
	if err := r.retry(ctx, func(ctx context.Context) error { return r.b.leave(ctx, id, token) }); err != nil {
		return fmt.Errorf("leave room %s: %w", id, r.wrapErr(err))
	}
	return nil
}

// checkID refuses what is not a room number.
func checkID(id rooms.ID) error {
	if p, err := rooms.ParseID(string(id)); err != nil || p != id {
		return fmt.Errorf("%w %q", rooms.ErrBadRoomNumber, id)
	}
	return nil
}

// checkNewRoom checks a record to store, with its creator's credentials,
// and returns the lease time in milliseconds.
func checkNewRoom(rec rooms.Record, cred rooms.Credentials, ttl time.Duration) (int64, error) {
	ms, err := checkLease(rec.ID, cred, ttl)
	if err != nil {
		return 0, err
	}
	if len(rec.Salt) < minSalt || len(rec.Salt) > maxBytes {
		return 0, fmt.Errorf("%w: salt of %d bytes, want %d to %d", rooms.ErrInvalid, len(rec.Salt), minSalt, maxBytes)
	}
	if err := rec.KDF.Validate(); err != nil {
		return 0, fmt.Errorf("%w: %v", rooms.ErrInvalid, err)
	}
	switch err := rooms.CheckProof(rec.Verifier, cred.Proof); {
	case errors.Is(err, rooms.ErrLegacyVerifier):
		return 0, fmt.Errorf("%w: a new room needs a verifier of schema 2 (%d bytes)", rooms.ErrInvalid, 1+sha256.Size)
	case err != nil:
		return 0, err
	}
	return ms, nil
}

// checkLease checks a room number and credentials, and returns ttl in
// whole milliseconds, rounded up and capped at maxTTL.
func checkLease(id rooms.ID, cred rooms.Credentials, ttl time.Duration) (int64, error) {
	if err := checkID(id); err != nil {
		return 0, err
	}
	if len(cred.Proof) != proofBytes || len(cred.Token) != tokenBytes {
		return 0, fmt.Errorf("%w: join proof of %d bytes and lease token of %d, want %d and %d",
			rooms.ErrInvalid, len(cred.Proof), len(cred.Token), proofBytes, tokenBytes)
	}
	if ttl <= 0 {
		return 0, fmt.Errorf("%w: lease time %v is not positive", rooms.ErrInvalid, ttl)
	}
	ttl = min(ttl, maxTTL)
	return int64((ttl + time.Millisecond - 1) / time.Millisecond), nil
}

// holder is what the registry keeps of a lease token.
func holder(token []byte) []byte {
	sum := sha256.Sum256(token)
	return sum[:]
}

// legacyHolder is the holder of a lease copied from schema 1's
// sunoye_members: a token that nobody has.
func legacyHolder(member string) []byte {
	return holder([]byte("legacy:" + member))
}

// sameLease reports whether two leases are one.
func sameLease(a, b rooms.Lease) bool {
	return a.Room == b.Room && a.Generation == b.Generation &&
		bytes.Equal(a.Token, b.Token) && bytes.Equal(a.Proof, b.Proof)
}

// isDomain reports whether err is one of the errors that package rooms
// defines for registries, which callers tell apart with errors.Is.
func isDomain(err error) bool {
	return errors.Is(err, rooms.ErrNoSuchRoom) ||
		errors.Is(err, rooms.ErrRoomInactive) ||
		errors.Is(err, rooms.ErrRoomTaken) ||
		errors.Is(err, rooms.ErrWrongPassword) ||
		errors.Is(err, rooms.ErrBadRoomNumber) ||
		errors.Is(err, rooms.ErrInvalid)
}
