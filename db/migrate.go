package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// schemaVersion is the version that the schema files bring a database to.
// Version 1 is the baseline, schema.sql and schema_sqlite.sql as they are.
//
// To change the schema later: edit both schema files so that they create
// the new schema from scratch (for new databases) and record every version
// they contain in sunoye_schema, raise schemaVersion, and add to migrations
// the idempotent statements that bring a database of the previous version
// to the new one (Migrate records the version after them). Keep changes additive where possible:
// daemons of the previous version may still be using the database.
const schemaVersion = 1

// migration brings a database from version-1 to version.
type migration struct {
	version int
	// stmts per dialect name.
	stmts map[string][]string
}

// migrations after the baseline, in order of version.
var migrations = []migration{}

// Migrate brings the registry's schema up to date. It is idempotent and
// does nothing (no DDL) when the schema is current, so every daemon can
// call it on start, even at the same time as another. A database without
// the schema gets the whole schema file; one of an older version gets the
// migrations since. A database of a newer version is left alone.
func (r *Registry) Migrate(ctx context.Context) error {
	v, err := r.schemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", r.wrapErr(err))
	}
	if v >= schemaVersion {
		return nil
	}
	var stmts []string
	if v == 0 {
		stmts = splitStatements(r.dialect.schema, r.dialect.hashComments)
	} else {
		for _, m := range migrations {
			if m.version > v {
				stmts = append(stmts, m.stmts[r.dialect.name]...)
				// Ignore: another daemon may be applying it too.
				stmts = append(stmts, r.dialect.sql(fmt.Sprintf(
					"{insert-ignore} INTO sunoye_schema (version, applied_at) VALUES (%d, {now})", m.version)))
			}
		}
	}
	if err := r.apply(ctx, stmts); err != nil {
		return fmt.Errorf("migrate from schema version %d to %d: %w", v, schemaVersion, r.wrapErr(err))
	}
	return nil
}

// schemaVersion returns the highest schema version applied, 0 if none.
func (r *Registry) schemaVersion(ctx context.Context) (int, error) {
	var n int
	if err := r.db.QueryRowContext(ctx, r.dialect.tableExists, "sunoye_schema").Scan(&n); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	var v sql.NullInt64
	if err := r.db.QueryRowContext(ctx, "SELECT MAX(version) FROM sunoye_schema").Scan(&v); err != nil {
		return 0, err
	}
	return int(v.Int64), nil
}

// apply runs stmts in order; in one transaction where DDL is
// transactional, so that two processes migrating one SQLite file at once
// do not interleave.
func (r *Registry) apply(ctx context.Context, stmts []string) error {
	if !r.dialect.txDDL {
		for _, s := range stmts {
			if _, err := r.db.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", firstLine(s), err)
			}
		}
		return nil
	}
	return r.inTx(ctx, func(tx *sql.Tx) error {
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", firstLine(s), err)
			}
		}
		return nil
	})
}

// firstLine returns the first line of a statement, to say which failed.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}

// splitStatements splits an SQL script into statements at the semicolons
// that end them: not those in quotes ('...', "...", `...`, with backslash
// escapes and doubled quotes) or comments (-- to the end of the line, # too
// if hashComments, /* ... */). Comments are dropped, except MySQL's
// executable comments /*! ... */, which are part of the statement; empty
// statements are dropped.
func splitStatements(script string, hashComments bool) []string {
	var (
		stmts []string
		cur   strings.Builder
	)
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			stmts = append(stmts, s)
		}
		cur.Reset()
	}
	for i := 0; i < len(script); i++ {
		c := script[i]
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
		case c == ';':
			flush()
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return stmts
}
