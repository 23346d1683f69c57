package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/sunoye/sunoye/rooms"
)

// MySQL error numbers of the procedures and the privileges they need.
const (
	mysqlSignal         = 1644 // ER_SIGNAL_EXCEPTION: SIGNAL SQLSTATE '45000'
	mysqlNoProcedure    = 1305 // ER_SP_DOES_NOT_EXIST
	mysqlDBDenied       = 1044 // ER_DBACCESS_DENIED_ERROR
	mysqlTableDenied    = 1142 // ER_TABLEACCESS_DENIED_ERROR
	mysqlColumnDenied   = 1143 // ER_COLUMNACCESS_DENIED_ERROR
	mysqlSpecificDenied = 1227 // ER_SPECIFIC_ACCESS_DENIED_ERROR
	mysqlRoutineDenied  = 1370 // ER_PROCACCESS_DENIED_ERROR
)

// Procedures are the stored procedures of schema.sql that members run, and
// are granted EXECUTE on (see Grants); the registry runs nothing else on
// MySQL once the schema is current.
var Procedures = []string{
	"sunoye_version",
	"sunoye_lookup",
	"sunoye_create",
	"sunoye_join",
	"sunoye_renew",
	"sunoye_reregister",
	"sunoye_leave",
}

// refusals map the kinds of the procedures' refusals (MESSAGE_TEXT
// "sunoye: KIND[: detail]") to the errors of package rooms.
var refusals = map[string]error{
	"bad room number": rooms.ErrBadRoomNumber,
	"invalid":         rooms.ErrInvalid,
	"no such room":    rooms.ErrNoSuchRoom,
	"room inactive":   rooms.ErrRoomInactive,
	"room taken":      rooms.ErrRoomTaken,
	"wrong password":  rooms.ErrWrongPassword,
}

// refusal returns the rooms error of a procedure's refusal, with its
// detail, or err itself.
func refusal(err error) error {
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != mysqlSignal {
		return err
	}
	msg, ok := strings.CutPrefix(me.Message, "sunoye: ")
	if !ok {
		return err
	}
	kind, detail, _ := strings.Cut(msg, ": ")
	base, ok := refusals[kind]
	if !ok {
		return err
	}
	if detail == "" {
		return base
	}
	return fmt.Errorf("%w: %s", base, detail)
}

// mysqlBackend runs the registry's procedures.
type mysqlBackend struct {
	db *sql.DB
}

// version calls sunoye_version, which members may run. Where it is not
// there yet (schema 1, or none) it reads the table; where the account may
// not run it (an account of schema 1, with rights on the tables), too, but
// a current schema is then an error: the account cannot use it.
func (b *mysqlBackend) version(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := b.db.QueryRowContext(ctx, "CALL sunoye_version()").Scan(&v)
	switch n := mysqlErrNo(err); {
	case err == nil:
		return int(v.Int64), nil
	case n == mysqlNoProcedure:
		return tableVersion(ctx, mysqlDialect, b.db)
	case n == mysqlRoutineDenied:
		have, terr := tableVersion(ctx, mysqlDialect, b.db)
		if terr != nil || have < schemaVersion {
			return have, terr
		}
		return 0, fmt.Errorf("this account may not run the registry's procedures: an administrator runs "+
			"`sunoye db grant USER@HOST` and the statements it prints (%w)", err)
	default:
		return 0, err
	}
}

// migrate runs apply on one connection that holds a named lock for the
// database, so that daemons starting at once on one server migrate one
// after the other (the next finds the schema current). MySQL's DDL is not
// transactional, and the statements are idempotent besides. Galera does
// not replicate the lock: there, apply the schema through one node first
// (docs/scaling.md).
func (b *mysqlBackend) migrate(ctx context.Context, apply func(context.Context, execer) error) error {
	conn, err := b.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	const name = "LEFT(CONCAT('sunoye migrate ', DATABASE()), 64)"
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK("+name+", 60)").Scan(&got); err != nil {
		return err
	}
	if got.Int64 != 1 {
		return errors.New("another process has been migrating the registry for a minute; try again")
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DO RELEASE_LOCK("+name+")")
	return apply(ctx, conn)
}

func (b *mysqlBackend) create(ctx context.Context, rec rooms.Record, cred rooms.Credentials, ms int64) (int64, error) {
	var gen int64
	err := b.db.QueryRowContext(ctx, "CALL sunoye_create(?, ?, ?, ?, ?, ?, ?, ?, ?)",
		string(rec.ID), rec.Salt, rec.KDF.Time, rec.KDF.MemoryKiB, rec.KDF.Threads, rec.Verifier,
		cred.Proof, cred.Token, ms).Scan(&gen)
	return gen, refusal(err)
}

func (b *mysqlBackend) lookup(ctx context.Context, id rooms.ID) (rooms.Record, string, int, error) {
	var (
		rec     rooms.Record
		kdf     string
		members int
	)
	err := b.db.QueryRowContext(ctx, "CALL sunoye_lookup(?)", string(id)).Scan(&rec.Generation, &rec.Salt, &kdf,
		&rec.KDF.Time, &rec.KDF.MemoryKiB, &rec.KDF.Threads, &rec.Verifier, &members)
	return rec, kdf, members, refusal(err)
}

func (b *mysqlBackend) join(ctx context.Context, id rooms.ID, gen int64, cred rooms.Credentials, ms int64) error {
	_, err := b.db.ExecContext(ctx, "CALL sunoye_join(?, ?, ?, ?, ?)", string(id), gen, cred.Proof, cred.Token, ms)
	return refusal(err)
}

func (b *mysqlBackend) renew(ctx context.Context, l rooms.Lease, ms int64) (bool, int, error) {
	var (
		ok      bool
		members int
	)
	err := b.db.QueryRowContext(ctx, "CALL sunoye_renew(?, ?, ?, ?, ?)",
		string(l.Room), l.Generation, l.Proof, l.Token, ms).Scan(&ok, &members)
	return ok, members, refusal(err)
}

func (b *mysqlBackend) reregister(ctx context.Context, rec rooms.Record, cred rooms.Credentials, ms int64) error {
	_, err := b.db.ExecContext(ctx, "CALL sunoye_reregister(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		string(rec.ID), rec.Generation, rec.Salt, rec.KDF.Time, rec.KDF.MemoryKiB, rec.KDF.Threads, rec.Verifier,
		cred.Proof, cred.Token, ms)
	return refusal(err)
}

func (b *mysqlBackend) leave(ctx context.Context, id rooms.ID, token []byte) error {
	_, err := b.db.ExecContext(ctx, "CALL sunoye_leave(?, ?)", string(id), token)
	return refusal(err)
}

// isMySQLDenied reports an error for want of a privilege.
func isMySQLDenied(err error) bool {
	switch mysqlErrNo(err) {
	case mysqlDBDenied, mysqlTableDenied, mysqlColumnDenied, mysqlSpecificDenied, mysqlRoutineDenied:
		return true
	}
	return false
}
