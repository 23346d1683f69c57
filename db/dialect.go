package db

import "strings"

// dialect holds the few things in which MySQL and SQLite differ for this
// registry. The SQL of the registry is written once, with the
// placeholders {now}, {lock} and {insert-ignore}, and each dialect fills
// them in.
type dialect struct {
	// name is "mysql" or "sqlite".
	name string
	// now is an SQL expression for the database server's clock in
	// milliseconds since the Unix epoch, fixed for one statement.
	now string
	// insertIgnore is INSERT that skips rows whose key exists.
	insertIgnore string
	// lock ends a SELECT that must lock the rows it reads until the
	// transaction ends (MySQL's FOR UPDATE); empty where the transaction
	// holds the whole database (SQLite's BEGIN IMMEDIATE).
	lock string
	// schema is the schema file, applied by Migrate.
	schema string
	// hashComments is whether # starts a comment in schema (MySQL).
	hashComments bool
	// txDDL is whether Migrate can apply the schema in one transaction
	// (SQLite); MySQL commits implicitly after each DDL statement.
	txDDL bool
	// tableExists is a query with one parameter, a table name, that
	// returns one row counting the tables of that name.
	tableExists string
	// isDuplicate reports a primary key violation.
	isDuplicate func(error) bool
	// isRetryable reports an error after which the transaction can simply
	// be run again: a deadlock, a Galera certification failure, a busy
	// database.
	isRetryable func(error) bool
	// isConnErr reports an error reaching the server.
	isConnErr func(error) bool
	// isNodeFailure reports an error after which a call is better made
	// on another server of the DSN (isNodeFailure in failover.go).
	isNodeFailure func(error) bool
	// isDenied reports an error for want of a privilege.
	isDenied func(error) bool
}

// sql fills the dialect's placeholders into query.
func (d *dialect) sql(query string) string {
	return strings.NewReplacer("{now}", d.now, "{lock}", d.lock, "{insert-ignore}", d.insertIgnore).Replace(query)
}
