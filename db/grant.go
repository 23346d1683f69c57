package db

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNoAccounts is returned by Grants for an SQLite registry, which has no
// accounts: it is a file of one user's.
var ErrNoAccounts = errors.New("an SQLite registry has no accounts to grant to; grants are for a mysql:// registry")

// Grants returns the statements with which an administrator gives the
// member account user@host what a daemon needs on the MySQL registry
// named by dsn, and nothing more: EXECUTE on each of the registry's
// procedures (Procedures), one statement each, such as
//
//	GRANT EXECUTE ON PROCEDURE `sunoye`.`sunoye_create` TO 'alice'@'%';
//
// The account cannot read or change the tables: the procedures, which run
// with their definer's rights, enforce the registry's rules. The account
// itself is the administrator's to create (CREATE USER). It returns
// ErrNoAccounts for an SQLite DSN, an error matching ErrBadDSN for a
// malformed one, and refuses user and host names that cannot be quoted
// the same way under every sql_mode (backslashes, control characters).
func Grants(dsn, user, host string) ([]string, error) {
	t, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if t.mysql == nil {
		return nil, ErrNoAccounts
	}
	if user == "" || host == "" {
		return nil, errors.New("the account needs a user name and a host (USER@HOST; any host is %)")
	}
	for _, s := range []string{user, host} {
		if strings.ContainsFunc(s, func(r rune) bool { return r == '\\' || r < ' ' || r == 0x7f }) {
			return nil, fmt.Errorf("account name %q: backslashes and control characters are not supported", s)
		}
	}
	database := quoteIdent(t.mysql.DBName)
	account := quoteString(user) + "@" + quoteString(host)
	stmts := make([]string, len(Procedures))
	for i, p := range Procedures {
		stmts[i] = fmt.Sprintf("GRANT EXECUTE ON PROCEDURE %s.%s TO %s;", database, quoteIdent(p), account)
	}
	return stmts, nil
}

// quoteIdent quotes a MySQL identifier: in backticks, a backtick doubled.
func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

// quoteString quotes a MySQL string without backslashes: in single quotes,
// a single quote doubled, which every sql_mode reads the same.
func quoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
