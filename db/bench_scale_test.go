package db

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	sunoye "github.com/sunoye/sunoye"
	"github.com/sunoye/sunoye/rooms"
)

// The registry at scale: the same operations on a registry of a few rooms
// and on one of scaleRooms rooms with scaleLeases member rows, alternating
// in every iteration, and the plans of the statements behind them.
//
//	go test ./db -run '^$' -bench RegistryScale -count 5
//	go test ./db -run '^$' -bench RegistryScale/mariadb/lookup -benchtime 1x -v   # the plans

const (
	scaleRooms  = 10_000
	scaleLeases = 100_000
	// scaleRoomsPerMember is how many rooms each member of the big
	// registry is in, so a heartbeat renews that many leases.
	scaleRoomsPerMember = 5
	// scaleBatch is the rows per INSERT of the bulk fill.
	scaleBatch = 1000
)

// scaleRegistry is a filled registry and what the benchmark needs to know
// about its rows.
type scaleRegistry struct {
	r       *Registry
	dsn     string
	rooms   []rooms.Record
	members [][]byte // members[i] holds leases on member rooms(i)
}

// memberToken returns member i's lease token for room rec: a secret of its
// own in every room.
func (s *scaleRegistry) memberToken(i int, rec rooms.Record) []byte {
	sum := sha256.Sum256(append(slices.Clone(s.members[i]), rec.ID...))
	return sum[:]
}

// memberRooms returns the leases of member i of a registry filled by fill.
func (s *scaleRegistry) memberRooms(i int) []rooms.Lease {
	leases := make([]rooms.Lease, scaleRoomsPerMember)
	for k := range leases {
		rec := s.rooms[(i*scaleRoomsPerMember+k)%len(s.rooms)]
		leases[k] = lease(rec, rooms.Credentials{Proof: proofOf(rec), Token: s.memberToken(i, rec)})
	}
	return leases
}

// fillRegistry opens the registry at dsn and fills it with nRooms rooms
// and nLeases leases, scaleRoomsPerMember per member, in bulk INSERTs.
// Nine in ten leases of each room are live.
func fillRegistry(b *testing.B, dsn string, nRooms, nLeases int) *scaleRegistry {
	b.Helper()
	ctx := context.Background()
	s := &scaleRegistry{r: open(b, dsn), dsn: dsn}
	seen := make(map[rooms.ID]bool, nRooms)
	for len(s.rooms) < nRooms {
		rec := newRecord(b)
		if seen[rec.ID] {
			continue
		}
		seen[rec.ID] = true
		rec.Generation = 1
		s.rooms = append(s.rooms, rec)
	}
	insertRows(b, s.r, `INSERT INTO sunoye_rooms
		(room_no, generation, salt, kdf_name, kdf_time, kdf_memory_kib, kdf_threads, verifier, created_at)
		VALUES `, "(?, ?, ?, 'argon2id', ?, ?, ?, ?, {now})", nRooms, func(i int) []any {
		rec := s.rooms[i]
		return []any{string(rec.ID), rec.Generation, rec.Salt, rec.KDF.Time, rec.KDF.MemoryKiB, rec.KDF.Threads, rec.Verifier}
	})
	// Row j is member j/scaleRoomsPerMember's lease on room j mod nRooms:
	// every member is in scaleRoomsPerMember consecutive rooms, every room
	// has nLeases/nRooms members.
	s.members = make([][]byte, (nLeases+scaleRoomsPerMember-1)/scaleRoomsPerMember)
	for i := range s.members {
		s.members[i] = randomBytes(16)
	}
	const day, hour = 86_400_000, 3_600_000
	insertRows(b, s.r, "INSERT INTO sunoye_leases (room_no, generation, holder, expires_at) VALUES ",
		"(?, ?, ?, {now} + ?)", nLeases, func(j int) []any {
			rec := s.rooms[j%nRooms]
			ttl := day
			if (j/nRooms)%10 == 9 {
				ttl = -hour // lapsed: one member in ten of each room crashed an hour ago
			}
			return []any{string(rec.ID), rec.Generation, holder(s.memberToken(j/scaleRoomsPerMember, rec)), ttl}
		})
	// Fresh statistics, as a server has after running for a while.
	if s.r.dialect.name == "mysql" {
		for _, t := range []string{"sunoye_rooms", "sunoye_leases"} {
			if _, err := s.r.db.ExecContext(ctx, "ANALYZE TABLE "+t); err != nil {
				b.Fatal(err)
			}
		}
	} else if _, err := s.r.db.ExecContext(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	return s
}

// insertRows inserts n rows in statements of scaleBatch rows each: head,
// then the row template repeated, with args(i) for row i.
func insertRows(b *testing.B, r *Registry, head, row string, n int, args func(i int) []any) {
	b.Helper()
	for start := 0; start < n; start += scaleBatch {
		end := min(start+scaleBatch, n)
		var q strings.Builder
		q.WriteString(head)
		var all []any
		for i := start; i < end; i++ {
			if i > start {
				q.WriteString(", ")
			}
			q.WriteString(row)
			all = append(all, args(i)...)
		}
		if _, err := r.db.ExecContext(context.Background(), r.dialect.sql(q.String()), all...); err != nil {
			b.Fatalf("bulk insert: %v", err)
		}
	}
}

// BenchmarkRegistryScale runs each hot registry operation on a small
// registry (scaleRoomsPerMember rooms) and on a big one (scaleRooms rooms,
// scaleLeases leases), alternating, on both backends:
//
//   - lookup: Lookup of a room (the first step of every join);
//   - join: Join of a new member to a room (a transaction: lock the room,
//     count its leases, check the proof, insert the lease);
//   - renew: one heartbeat of a member in scaleRoomsPerMember rooms (per
//     room: an UPDATE by primary key and a count).
//
// It reports the median per side in µs and big/small: near 1 when the
// statements use their indexes. Before measuring, it explains the
// statements behind them on the big registry, and fails if a plan reads a
// whole table; -v prints the plans (as Markdown tables, for
// docs/performance.md).
func BenchmarkRegistryScale(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			small := fillRegistry(b, be.dsn(b), scaleRoomsPerMember, scaleRoomsPerMember)
			big := fillRegistry(b, be.dsn(b), scaleRooms, scaleLeases)
			for _, p := range explainHot(b, big) {
				b.Logf("%s", p)
				if p.fullScan() {
					b.Errorf("%s scans a whole table", p.name)
				}
			}
			ctx := context.Background()
			// Each op may return an undo, run outside the timing, so that
			// the registries keep their size.
			ops := []struct {
				name string
				run  func(s *scaleRegistry) (undo func() error, err error)
			}{
				{"lookup", func(s *scaleRegistry) (func() error, error) {
					_, _, err := s.r.Lookup(ctx, s.rooms[rand.IntN(len(s.rooms))].ID)
					return nil, err
				}},
				{"join", func(s *scaleRegistry) (func() error, error) {
					rec := s.rooms[rand.IntN(len(s.rooms))]
					m := newMember(rec)
					undo := func() error { return s.r.Leave(ctx, rec.ID, m.Token) }
					return undo, s.r.Join(ctx, rec.ID, rec.Generation, m, longTTL)
				}},
				{"renew", func(s *scaleRegistry) (func() error, error) {
					// Any member: one lease in ten has lapsed, which
					// the heartbeat takes again. Not undone: a run
					// renews a few thousand of the 100,000 rows, which
					// changes neither the plans nor the row counts.
					m := rand.IntN(len(s.members))
					_, gone, err := s.r.Renew(ctx, s.memberRooms(m), longTTL)
					if err == nil && len(gone) > 0 {
						err = fmt.Errorf("renew: %d rooms gone", len(gone))
					}
					return nil, err
				}},
			}
			for _, op := range ops {
				b.Run(op.name, func(b *testing.B) {
					var onSmall, onBig []time.Duration
					for b.Loop() {
						for k, s := range []*scaleRegistry{small, big} {
							start := time.Now()
							undo, err := op.run(s)
							if err != nil {
								b.Fatal(err)
							}
							if d := time.Since(start); k == 0 {
								onSmall = append(onSmall, d)
							} else {
								onBig = append(onBig, d)
							}
							if undo != nil {
								b.StopTimer()
								if err := undo(); err != nil {
									b.Fatal(err)
								}
								b.StartTimer()
							}
						}
					}
					b.StopTimer()
					small50, big50 := median(onSmall), median(onBig)
					b.ReportMetric(float64(small50.Microseconds()), "small-µs")
					b.ReportMetric(float64(big50.Microseconds()), "big-µs")
					b.ReportMetric(big50.Seconds()/small50.Seconds(), "big/small")
				})
			}
		})
	}
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// plan is a statement's query plan as the database explains it.
type plan struct {
	name, query string
	dialect     string
	rows        [][]string // the EXPLAIN output, header first
}

// fullScan reports whether the plan reads a whole SunOye table: type ALL
// in MySQL's EXPLAIN, a SCAN without an index in SQLite's.
func (p plan) fullScan() bool {
	if len(p.rows) < 2 {
		return false
	}
	head := p.rows[0]
	for _, row := range p.rows[1:] {
		for i, col := range head {
			switch {
			case p.dialect == "mysql" && col == "type" && row[i] == "ALL":
				return true
			case p.dialect == "sqlite" && col == "detail" && strings.HasPrefix(row[i], "SCAN ") &&
				!strings.Contains(row[i], "INDEX") && strings.Contains(row[i], "sunoye_"):
				return true
			}
		}
	}
	return false
}

// String formats the plan as a Markdown table under the statement.
func (p plan) String() string {
	var s strings.Builder
	fmt.Fprintf(&s, "\n%s:\n\n    %s\n\n", p.name, strings.Join(strings.Fields(p.query), " "))
	for i, row := range p.rows {
		s.WriteString("| " + strings.Join(row, " | ") + " |\n")
		if i == 0 {
			s.WriteString(strings.Repeat("|---", len(row)) + "|\n")
		}
	}
	return s.String()
}

// explainHot explains the statements that joins and heartbeats run, with
// arguments from s's rows: on SQLite those of the backend's queries, on
// MySQL those in the bodies of schema.sql's procedures, as they are there,
// with the parameters' values put in.
func explainHot(b *testing.B, s *scaleRegistry) []plan {
	b.Helper()
	l := s.memberRooms(len(s.members) / 2)[0]
	rec := s.rooms[slices.IndexFunc(s.rooms, func(r rooms.Record) bool { return r.ID == l.Room })]
	type stmt struct {
		name, query string
		args        []any
	}
	var stmts []stmt
	if s.r.dialect.name == "sqlite" {
		q := s.r.b.(*sqliteBackend).q
		h := holder(l.Token)
		stmts = []stmt{
			{"Lookup", q.lookup, []any{string(rec.ID)}},
			{"Join, Create, Renew: the room", q.room, []any{string(rec.ID)}},
			{"Join, Create: live leases", q.live, []any{string(rec.ID), rec.Generation}},
			{"Join, Renew: take a lease", q.upsertLease, []any{string(rec.ID), rec.Generation, h, int64(90_000)}},
			{"Renew: extend the lease", q.renew, []any{int64(90_000), string(rec.ID), h, rec.Generation}},
			{"Renew: count members", q.count, []any{string(rec.ID), rec.Generation}},
			{"Leave", q.leave, []any{string(rec.ID), h}},
			{"Create again: delete leases", q.deleteLeases, []any{string(rec.ID)}},
		}
	} else {
		hex := func(p []byte) string { return fmt.Sprintf("X'%x'", p) }
		values := map[string]string{
			"p_room":       "'" + string(rec.ID) + "'",
			"p_generation": fmt.Sprint(rec.Generation),
			"v_gen":        fmt.Sprint(rec.Generation),
			"p_token":      hex(l.Token),
			"p_proof":      hex(l.Proof),
			"p_ttl_ms":     "90000",
			"v_renewed":    "1",
			"p_salt":       hex(rec.Salt),
			"p_verifier":   hex(rec.Verifier),
			"p_kdf_time":   fmt.Sprint(rec.KDF.Time),
			// The names of the other two parameters of KDFParams.
			"p_kdf_memory_kib": fmt.Sprint(rec.KDF.MemoryKiB),
			"p_kdf_threads":    fmt.Sprint(rec.KDF.Threads),
		}
		for _, ps := range procedureStatements(sunoye.SchemaSQL) {
			query := regexp.MustCompile(`\b[pv]_\w+\b`).ReplaceAllStringFunc(ps.query, func(name string) string {
				if v, ok := values[name]; ok {
					return v
				}
				b.Fatalf("%s: no value for %s in %s", ps.proc, name, ps.query)
				return ""
			})
			stmts = append(stmts, stmt{name: ps.proc, query: query})
		}
	}
	var plans []plan
	for _, st := range stmts {
		p := plan{name: st.name, query: st.query, dialect: s.r.dialect.name}
		prefix := "EXPLAIN "
		if p.dialect == "sqlite" {
			prefix = "EXPLAIN QUERY PLAN "
		}
		rows, err := s.r.db.QueryContext(context.Background(), prefix+st.query, st.args...)
		if err != nil {
			b.Fatalf("explain %s: %v", st.name, err)
		}
		p.rows, err = scanStrings(rows)
		if err != nil {
			b.Fatalf("explain %s: %v", st.name, err)
		}
		plans = append(plans, p)
	}
	return plans
}

// procStatement is a statement in the body of a stored procedure.
type procStatement struct{ proc, query string }

// procedureStatements returns the statements that read the registry's
// tables (SELECT, UPDATE, DELETE) in the bodies of the procedures that
// members run, with the INTO of SELECT ... INTO left out.
func procedureStatements(schema string) []procStatement {
	create := regexp.MustCompile(`(?is)^CREATE\s+PROCEDURE\s+(\w+)\s*\(.*?\bBEGIN\b(.*)\bEND$`)
	start := regexp.MustCompile(`(?is)(?:^|\bTHEN\b|\bELSE\b|\bBEGIN\b)\s*((?:SELECT|UPDATE|DELETE)\b.*)$`)
	into := regexp.MustCompile(`(?is)\s+INTO\s+[pv]_\w+(?:\s*,\s*[pv]_\w+)*`)
	var out []procStatement
	for _, stmt := range splitStatements(schema, true) {
		m := create.FindStringSubmatch(stmt)
		if m == nil || !slices.Contains(Procedures, m[1]) {
			continue
		}
		for _, part := range strings.Split(m[2], ";") {
			s := start.FindStringSubmatch(strings.TrimSpace(part))
			if s == nil || !strings.Contains(s[1], "sunoye_") {
				continue
			}
			out = append(out, procStatement{proc: m[1], query: into.ReplaceAllString(s[1], "")})
		}
	}
	return out
}

// scanStrings reads all rows as strings, the column names first.
func scanStrings(rows *sql.Rows) ([][]string, error) {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	out := [][]string{cols}
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = "NULL"
			if v.Valid {
				row[i] = v.String
			}
		}
		out = append(out, row)
	}
	return out, rows.Err()
}
