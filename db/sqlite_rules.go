package db

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/sunoye/sunoye/rooms"
)

// sqliteBackend enforces the registry's rules in Go, as schema.sql's
// procedures do in MySQL, each operation in one transaction. Transactions
// begin IMMEDIATE (see openSQLite): each holds the database's write lock
// from its start, so reading and then writing needs no row locks and
// cannot deadlock.
type sqliteBackend struct {
	db *sql.DB
	q  queries
}

func (b *sqliteBackend) version(ctx context.Context) (int, error) {
	return tableVersion(ctx, sqliteDialect, b.db)
}

// migrate runs apply in one transaction: SQLite's DDL is transactional,
// so two processes migrating one file at once take turns, and the second
// finds the schema current.
func (b *sqliteBackend) migrate(ctx context.Context, apply func(context.Context, execer) error) error {
	return b.inTx(ctx, func(tx *sql.Tx) error { return apply(ctx, tx) })
}

// inTx runs fn in a transaction, committing if it returns nil.
func (b *sqliteBackend) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// room returns the generation and verifier of room id, or ok false.
func (b *sqliteBackend) room(ctx context.Context, tx *sql.Tx, id rooms.ID) (gen int64, verifier []byte, ok bool, err error) {
	err = tx.QueryRowContext(ctx, b.q.room, string(id)).Scan(&gen, &verifier)
	if isNoRows(err) {
		return 0, nil, false, nil
	}
	return gen, verifier, err == nil, err
}

// proofOK reports whether proof matches verifier, or the verifier is a
// legacy one that cannot check proofs.
func proofOK(verifier, proof []byte) bool {
	err := rooms.CheckProof(verifier, proof)
	return err == nil || errors.Is(err, rooms.ErrLegacyVerifier)
}

func (b *sqliteBackend) create(ctx context.Context, rec rooms.Record, cred rooms.Credentials, ms int64) (int64, error) {
	var gen int64
	err := b.inTx(ctx, func(tx *sql.Tx) error {
		cur, _, exists, err := b.room(ctx, tx, rec.ID)
		if err != nil {
			return err
		}
		gen = 1
		if !exists {
			_, err = tx.ExecContext(ctx, b.q.insertRoom, string(rec.ID), gen, rec.Salt,
				rec.KDF.Time, rec.KDF.MemoryKiB, rec.KDF.Threads, rec.Verifier)
		} else {
			var live int
			if err := tx.QueryRowContext(ctx, b.q.live, string(rec.ID), cur).Scan(&live); err != nil {
				return err
			}
			if live > 0 {
				return rooms.ErrRoomTaken
			}
			gen = cur + 1
			if _, err := tx.ExecContext(ctx, b.q.deleteLeases, string(rec.ID)); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, b.q.replaceRoom, gen, rec.Salt,
				rec.KDF.Time, rec.KDF.MemoryKiB, rec.KDF.Threads, rec.Verifier, string(rec.ID))
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, b.q.upsertLease, string(rec.ID), gen, holder(cred.Token), ms)
		return err
	})
	return gen, err
}

func (b *sqliteBackend) lookup(ctx context.Context, id rooms.ID) (rooms.Record, string, int, error) {
	var (
		rec     rooms.Record
		kdf     string
		members int
	)
	err := b.db.QueryRowContext(ctx, b.q.lookup, string(id)).Scan(&rec.Generation, &rec.Salt, &kdf,
		&rec.KDF.Time, &rec.KDF.MemoryKiB, &rec.KDF.Threads, &rec.Verifier, &members)
	return rec, kdf, members, err
}

func (b *sqliteBackend) join(ctx context.Context, id rooms.ID, gen int64, cred rooms.Credentials, ms int64) error {
	return b.inTx(ctx, func(tx *sql.Tx) error {
		cur, verifier, exists, err := b.room(ctx, tx, id)
		switch {
		case err != nil:
			return err
		case !exists:
			return rooms.ErrNoSuchRoom
		case cur != gen:
			// The room this member knew ended and its number was taken
			// again: the new room has another password and key.
			return fmt.Errorf("%w: the number was reused", rooms.ErrRoomInactive)
		}
		var live int
		if err := tx.QueryRowContext(ctx, b.q.live, string(id), cur).Scan(&live); err != nil {
			return err
		}
		if live == 0 {
			return rooms.ErrRoomInactive
		}
		if !proofOK(verifier, cred.Proof) {
			return fmt.Errorf("%w: the join proof does not match the room", rooms.ErrWrongPassword)
		}
		_, err = tx.ExecContext(ctx, b.q.upsertLease, string(id), gen, holder(cred.Token), ms)
		return err
	})
}

func (b *sqliteBackend) renew(ctx context.Context, l rooms.Lease, ms int64) (ok bool, members int, err error) {
	err = b.inTx(ctx, func(tx *sql.Tx) error {
		h := holder(l.Token)
		res, err := tx.ExecContext(ctx, b.q.renew, ms, string(l.Room), h, l.Generation)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		ok = n > 0
		if !ok {
			// No row: the member never left; as long as the room is the
			// same generation, the lease is taken again.
			cur, verifier, exists, err := b.room(ctx, tx, l.Room)
			if err != nil {
				return err
			}
			ok = exists && cur == l.Generation && proofOK(verifier, l.Proof)
			if ok {
				if _, err := tx.ExecContext(ctx, b.q.upsertLease, string(l.Room), cur, h, ms); err != nil {
					return err
				}
			}
		}
		return tx.QueryRowContext(ctx, b.q.count, string(l.Room), l.Generation).Scan(&members)
	})
	return ok, members, err
}

func (b *sqliteBackend) reregister(ctx context.Context, rec rooms.Record, cred rooms.Credentials, ms int64) error {
	return b.inTx(ctx, func(tx *sql.Tx) error {
		cur, verifier, exists, err := b.room(ctx, tx, rec.ID)
		switch {
		case err != nil:
			return err
		case !exists:
			if _, err := tx.ExecContext(ctx, b.q.insertRoom, string(rec.ID), rec.Generation, rec.Salt,
				rec.KDF.Time, rec.KDF.MemoryKiB, rec.KDF.Threads, rec.Verifier); err != nil {
				return err
			}
		case cur != rec.Generation || !bytes.Equal(verifier, rec.Verifier):
			return rooms.ErrRoomTaken
		}
		_, err = tx.ExecContext(ctx, b.q.upsertLease, string(rec.ID), rec.Generation, holder(cred.Token), ms)
		return err
	})
}

func (b *sqliteBackend) leave(ctx context.Context, id rooms.ID, token []byte) error {
	_, err := b.db.ExecContext(ctx, b.q.leave, string(id), holder(token))
	return err
}
