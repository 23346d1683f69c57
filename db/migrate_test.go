package db

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	sunoye "github.com/sunoye/sunoye"
)

func TestSplitStatements(t *testing.T) {
	script := `-- a comment; with a semicolon
CREATE TABLE a (x INT); # hash comment; here
/* block; comment */ INSERT INTO a VALUES (';'), ("it''s; \"q\";"), (1--1);
INSERT INTO b VALUES ('don''t; stop', 'back\'slash;');
SELECT ` + "`odd;name`" + ` FROM t /*!40101 WITH x; */;
;;
-- trailing comment`
	want := []string{
		"CREATE TABLE a (x INT)",
		`INSERT INTO a VALUES (';'), ("it''s; \"q\";"), (1--1)`,
		`INSERT INTO b VALUES ('don''t; stop', 'back\'slash;')`,
		"SELECT `odd;name` FROM t /*!40101 WITH x; */",
	}
	got := splitStatements(script, true)
	for i := range got {
		got[i] = strings.Join(strings.Fields(got[i]), " ")
	}
	if !slices.Equal(got, want) {
		t.Errorf("splitStatements:\n got %q\nwant %q", got, want)
	}
	// DELIMITER lines, as the mysql client reads them, for the bodies of
	// procedures.
	script = `DROP PROCEDURE IF EXISTS p;
DELIMITER //
-- a comment; in the block
CREATE PROCEDURE p() BEGIN SELECT ';'; SELECT 2; END//
delimiter $$
CREATE PROCEDURE q() BEGIN SELECT 1; END$$
DELIMITER ;
SELECT 'DELIMITER //'; SELECT 3`
	want = []string{
		"DROP PROCEDURE IF EXISTS p",
		"CREATE PROCEDURE p() BEGIN SELECT ';'; SELECT 2; END",
		"CREATE PROCEDURE q() BEGIN SELECT 1; END",
		"SELECT 'DELIMITER //'",
		"SELECT 3",
	}
	got = splitStatements(script, true)
	for i := range got {
		got[i] = strings.Join(strings.Fields(got[i]), " ")
	}
	if !slices.Equal(got, want) {
		t.Errorf("splitStatements with DELIMITER:\n got %q\nwant %q", got, want)
	}
	// Without hash comments (SQLite), # is text.
	if got := splitStatements("SELECT '#'; SELECT 1 # 2", false); len(got) != 2 || got[1] != "SELECT 1 # 2" {
		t.Errorf("splitStatements without hash comments: %q", got)
	}
}

// schemaTables returns, for each CREATE TABLE of an SQL script, the table's
// columns in order; and the names of the views it creates.
func schemaTables(t *testing.T, script string, hashComments bool) (map[string][]string, []string) {
	t.Helper()
	createTable := regexp.MustCompile(`(?is)^CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s*\((.*)\)[^)]*$`)
	createView := regexp.MustCompile(`(?is)^CREATE\s+(?:OR\s+REPLACE\s+)?(?:SQL\s+SECURITY\s+\w+\s+)?VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)`)
	tables := map[string][]string{}
	var views []string
	for _, stmt := range splitStatements(script, hashComments) {
		if m := createView.FindStringSubmatch(stmt); m != nil {
			views = append(views, m[1])
			continue
		}
		m := createTable.FindStringSubmatch(stmt)
		if m == nil {
			continue
		}
		var cols []string
		depth, start := 0, 0
		body := m[2] + ","
		for i, c := range body {
			switch c {
			case '(':
				depth++
			case ')':
				depth--
			case ',':
				if depth > 0 {
					continue
				}
				def := strings.Fields(body[start:i])
				start = i + 1
				if len(def) == 0 {
					continue
				}
				switch strings.ToUpper(def[0]) {
				case "PRIMARY", "KEY", "INDEX", "UNIQUE", "CONSTRAINT", "FOREIGN", "CHECK":
					continue
				}
				cols = append(cols, strings.Trim(def[0], "`\""))
			}
		}
		tables[m[1]] = cols
	}
	return tables, views
}

// The MySQL and the SQLite schema define the same tables, columns and
// views.
func TestSchemasAgree(t *testing.T) {
	my, myViews := schemaTables(t, sunoye.SchemaSQL, true)
	lite, liteViews := schemaTables(t, sqliteSchema, false)
	if len(my) != 3 {
		t.Errorf("schema.sql: found tables %v, want 3", my)
	}
	for name, cols := range my {
		if !slices.Equal(cols, lite[name]) {
			t.Errorf("table %s: schema.sql has columns %v, schema_sqlite.sql %v", name, cols, lite[name])
		}
		if !strings.HasPrefix(name, "sunoye_") {
			t.Errorf("table %s is not prefixed sunoye_", name)
		}
	}
	for name := range lite {
		if _, ok := my[name]; !ok {
			t.Errorf("table %s only in schema_sqlite.sql", name)
		}
	}
	if !slices.Equal(myViews, liteViews) || len(myViews) != 1 {
		t.Errorf("views: schema.sql %v, schema_sqlite.sql %v", myViews, liteViews)
	}
}

// The live databases have the columns that the schema files declare, and
// applying the schema again changes nothing.
func TestMigrate(t *testing.T) {
	declared, _ := schemaTables(t, sunoye.SchemaSQL, true)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := testCtx(t)
			r := open(t, b.dsn(t))
			for table, want := range declared {
				rows, err := r.db.QueryContext(ctx, "SELECT * FROM "+table+" WHERE 1 = 0")
				if err != nil {
					t.Fatal(err)
				}
				got, _ := rows.Columns()
				rows.Close()
				if !slices.Equal(got, want) {
					t.Errorf("%s: live columns %v, declared %v", table, got, want)
				}
			}

			rec, _ := create(t, ctx, r, longTTL)
			if err := r.Migrate(ctx); err != nil {
				t.Fatalf("second Migrate: %v", err)
			}
			// Even when the version row is missing, the schema applies
			// again over itself without harm.
			if _, err := r.db.ExecContext(ctx, "DELETE FROM sunoye_schema"); err != nil {
				t.Fatal(err)
			}
			if err := r.Migrate(ctx); err != nil {
				t.Fatalf("Migrate over an existing schema: %v", err)
			}
			if st := status(t, ctx, r, rec.ID); st.Members != 1 {
				t.Errorf("after migrating again: status %+v, want the room unchanged", st)
			}
			var versions, v int
			if err := r.db.QueryRowContext(ctx, "SELECT COUNT(*), MAX(version) FROM sunoye_schema").Scan(&versions, &v); err != nil {
				t.Fatal(err)
			}
			if versions != schemaVersion || v != schemaVersion {
				t.Errorf("sunoye_schema has %d rows, version %d; want %d rows, version %d", versions, v, schemaVersion, schemaVersion)
			}
		})
	}
}
