// Package sunoye holds what belongs to the repository as a whole rather
// than to one package: the SQL schema of the MySQL room registry, kept as a
// plain file at the root so that administrators find it and can apply it by
// hand.
package sunoye

import _ "embed"

// SchemaSQL is the MySQL/MariaDB schema of the room registry (schema.sql):
// idempotent CREATE statements separated by semicolons, with comments.
// Package db applies it when it opens a MySQL registry; administrators may
// apply the file itself with the mysql client instead.
//
//go:embed schema.sql
var SchemaSQL string
