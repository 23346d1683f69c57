package db

import (
	"errors"
	"slices"
	"testing"
)

func TestGrants(t *testing.T) {
	got, err := Grants("mysql://admin:secret@db.example/sun`oye", "o'brien", "%.example.com")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"GRANT EXECUTE ON PROCEDURE `sun``oye`.`sunoye_version` TO 'o''brien'@'%.example.com';",
		"GRANT EXECUTE ON PROCEDURE `sun``oye`.`sunoye_lookup` TO 'o''brien'@'%.example.com';",
		"GRANT EXECUTE ON PROCEDURE `sun``oye`.`sunoye_create` TO 'o''brien'@'%.example.com';",
		"GRANT EXECUTE ON PROCEDURE `sun``oye`.`sunoye_join` TO 'o''brien'@'%.example.com';",
		"GRANT EXECUTE ON PROCEDURE `sun``oye`.`sunoye_renew` TO 'o''brien'@'%.example.com';",
		"GRANT EXECUTE ON PROCEDURE `sun``oye`.`sunoye_reregister` TO 'o''brien'@'%.example.com';",
		"GRANT EXECUTE ON PROCEDURE `sun``oye`.`sunoye_leave` TO 'o''brien'@'%.example.com';",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Grants:\n got %q\nwant %q", got, want)
	}
	if _, err := Grants(sqliteURL(absSlashed("/tmp/r.db")), "a", "%"); !errors.Is(err, ErrNoAccounts) {
		t.Errorf("Grants on SQLite: %v, want ErrNoAccounts", err)
	}
	if _, err := Grants("mysql://u:p@h", "a", "%"); !errors.Is(err, ErrBadDSN) {
		t.Errorf("Grants on a DSN without database: %v, want ErrBadDSN", err)
	}
	for _, who := range [][2]string{{"a\\", "%"}, {"a", "h\n"}, {"", "%"}, {"a", ""}} {
		if _, err := Grants("mysql://u:p@h/d", who[0], who[1]); err == nil {
			t.Errorf("Grants for %q@%q succeeded", who[0], who[1])
		}
	}
}
