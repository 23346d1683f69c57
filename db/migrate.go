package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// schemaVersion is the version that the schema files bring a database to.
// Version 1 had a table sunoye_members whose leases named their members;
// version 2 replaced it with sunoye_leases, whose leases name only the hash
// of their holder's token, and (MySQL) put the rules of the registry in
// stored procedures that members run instead of writing the tables.
//
// To change the schema later: edit both schema files so that they create
// the new schema from scratch, and bring a database of an earlier version
// up to it where SQL can (schema.sql upgrades sunoye_members with a
// procedure it runs once); they record every version they contain in
// sunoye_schema. Raise schemaVersion, and add to migrations what the
// schema files cannot do (SQLite's upgrade of sunoye_members needs SHA-256
// in Go). Keep changes additive where possible: daemons of the previous
// version may still be using the database.
const schemaVersion = 2

// errNeedAdmin is the advice of a migration refused for want of rights.
const errNeedAdmin = "an administrator runs `sunoye db migrate --db ADMIN-DSN`"

// execer is what migrations run statements on: a transaction or a
// connection.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// migration brings a database from version-1 to version, after the schema
// file has been applied (it creates the new tables).
type migration struct {
	version int
	// up per dialect name; nil where the schema file does everything.
	up map[string]func(ctx context.Context, ex execer) error
}

// migrations after the baseline, in order of version.
var migrations = []migration{
	{version: 2, up: map[string]func(context.Context, execer) error{"sqlite": upgradeSQLiteMembers}},
}

// Migrate brings the registry's schema up to date. It is idempotent and
// does nothing (no DDL) when the schema is current, so every daemon can
// call it on start, even at the same time as another, and on an account
// that may only run the registry's procedures (see Grants): it reads the
// version through the procedure sunoye_version. A database without the
// schema gets the schema file; one of an older version gets the schema
// file, which upgrades it, and the migrations since. A database of a newer
// version is left alone. An account without the rights to upgrade gets an
// error that says who must.
func (r *Registry) Migrate(ctx context.Context) error {
	v, err := r.b.version(ctx)
	if err != nil {
		return fmt.Errorf("registry %s: schema version: %w", r.where, r.wrapErr(err))
	}
	if v >= schemaVersion {
		return nil
	}
	if err := r.b.migrate(ctx, r.apply); err != nil {
		if r.dialect.isDenied(err) {
			return fmt.Errorf("registry %s: registry schema is version %d, this SunOye needs %d: %s (%w)",
				r.where, v, schemaVersion, errNeedAdmin, err)
		}
		return fmt.Errorf("registry %s: migrate from schema version %d to %d: %w", r.where, v, schemaVersion, r.wrapErr(err))
	}
	return nil
}

// apply brings the database on ex from version v (read with ex, under
// whatever keeps other processes from migrating at the same time) to
// schemaVersion.
func (r *Registry) apply(ctx context.Context, ex execer) error {
	v, err := tableVersion(ctx, r.dialect, ex)
	if err != nil {
		return err
	}
	if v >= schemaVersion {
		return nil // another process did it meanwhile
	}
	stmts := splitStatements(r.dialect.schema, r.dialect.hashComments)
	for _, m := range migrations {
		// Ignore: another daemon may be applying it too.
		stmts = append(stmts, r.dialect.sql(fmt.Sprintf(
			"{insert-ignore} INTO sunoye_schema (version, applied_at) VALUES (%d, {now})", m.version)))
	}
	for _, s := range stmts {
		if _, err := ex.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", firstLine(s), err)
		}
	}
	for _, m := range migrations {
		if up := m.up[r.dialect.name]; up != nil && m.version > v {
			if err := up(ctx, ex); err != nil {
				return fmt.Errorf("migration to version %d: %w", m.version, err)
			}
		}
	}
	return nil
}

// tableVersion returns the highest schema version recorded in the table
// sunoye_schema, 0 if none.
func tableVersion(ctx context.Context, d *dialect, ex execer) (int, error) {
	var n int
	if err := ex.QueryRowContext(ctx, d.tableExists, "sunoye_schema").Scan(&n); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	var v sql.NullInt64
	if err := ex.QueryRowContext(ctx, "SELECT MAX(version) FROM sunoye_schema").Scan(&v); err != nil {
		return 0, err
	}
	return int(v.Int64), nil
}

// upgradeSQLiteMembers copies the live leases of schema 1's sunoye_members,
// if the table is there, to sunoye_leases with holder
// SHA-256("legacy:" + member_id), and drops it, as schema.sql's
// sunoye_upgrade_members does on MySQL: rooms stay active during the
// upgrade; nobody holds the tokens of the copies, which expire, and
// upgraded daemons take their leases again with their own tokens.
func upgradeSQLiteMembers(ctx context.Context, ex execer) error {
	var n int
	if err := ex.QueryRowContext(ctx, sqliteDialect.tableExists, "sunoye_members").Scan(&n); err != nil || n == 0 {
		return err
	}
	rows, err := ex.QueryContext(ctx, sqliteDialect.sql(
		"SELECT room_no, generation, member_id, expires_at FROM sunoye_members WHERE expires_at > {now}"))
	if err != nil {
		return err
	}
	type lease struct {
		room         string
		gen, expires int64
		holder       []byte
	}
	var leases []lease
	for rows.Next() {
		var (
			l      lease
			member string
		)
		if err := rows.Scan(&l.room, &l.gen, &member, &l.expires); err != nil {
			rows.Close()
			return err
		}
		l.holder = legacyHolder(member)
		leases = append(leases, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, l := range leases {
		if _, err := ex.ExecContext(ctx, "INSERT OR IGNORE INTO sunoye_leases (room_no, generation, holder, expires_at) VALUES (?, ?, ?, ?)",
			l.room, l.gen, l.holder, l.expires); err != nil {
			return err
		}
	}
	_, err = ex.ExecContext(ctx, "DROP TABLE IF EXISTS sunoye_members")
	return err
}

// firstLine returns the first line of a statement, to say which failed.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}

// splitStatements splits an SQL script into statements at the delimiters
// that end them, as the mysql client does: ";" unless a line
// "DELIMITER X" (at the start of a statement) makes it X until the next
// one, so that the bodies of stored procedures keep their semicolons. Not
// delimiters are those in quotes ('...', "...", `...`, with backslash
// escapes and doubled quotes) or comments (-- to the end of the line, # too
// if hashComments, /* ... */). Comments are dropped, except MySQL's
// executable comments /*! ... */, which are part of the statement; empty
// statements are dropped.
func splitStatements(script string, hashComments bool) []string {
	var (
		stmts []string
		cur   strings.Builder
	)
	delim := ";"
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			stmts = append(stmts, s)
		}
		cur.Reset()
	}
	for i := 0; i < len(script); i++ {
		c := script[i]
		if (i == 0 || script[i-1] == '\n') && strings.TrimSpace(cur.String()) == "" {
			line, _, _ := strings.Cut(script[i:], "\n")
			if f := strings.Fields(line); len(f) == 2 && strings.EqualFold(f[0], "DELIMITER") {
				delim = f[1]
				cur.Reset()
				i += len(line)
				continue
			}
		}
		switch {
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for j < len(script) {
				if script[j] == '\\' && c != '`' {
					j += 2
					continue
				}
				if script[j] == c {
					if j+1 < len(script) && script[j+1] == c { // doubled quote
						j += 2
						continue
					}
					break
				}
				j++
			}
			end := min(j+1, len(script))
			cur.WriteString(script[i:end])
			i = end - 1
		case c == '-' && strings.HasPrefix(script[i:], "--") &&
			(i+2 == len(script) || strings.IndexByte(" \t\r\n", script[i+2]) >= 0),
			c == '#' && hashComments:
			// MySQL wants a blank after "--"; "a--b" is a subtraction.
			for i < len(script) && script[i] != '\n' {
				i++
			}
			cur.WriteByte('\n')
		case c == '/' && strings.HasPrefix(script[i:], "/*"):
			end := strings.Index(script[i+2:], "*/")
			if end < 0 {
				end = len(script)
			} else {
				end += i + 4
			}
			if strings.HasPrefix(script[i:], "/*!") {
				cur.WriteString(script[i:end])
			} else {
				cur.WriteByte(' ')
			}
			i = end - 1
		case strings.HasPrefix(script[i:], delim):
			flush()
			i += len(delim) - 1
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return stmts
}
