// Package db is SunOye's room registry: it implements rooms.Registry on
// MySQL (or MariaDB, Galera, Vitess) for rooms shared between machines, and
// on an embedded SQLite file for zero-setup use on one machine.
//
// The registry stores, per room number, the generation, salt, KDF
// parameters and password verifier of the room, and one lease per member.
// Whether a room is active and how many members it has are not stored: they
// are derived from the leases that have not expired, by the database
// server's clock, so that they cannot drift when a member crashes and
// clients with skewed clocks agree.
//
// Open takes a DSN:
//
//	mysql://USER:PASSWORD@HOST[:PORT]/DATABASE[?PARAM=VALUE&...]
//	sqlite:///ABSOLUTE/PATH/TO/FILE
//
// and applies the schema (see Migrate). Errors name the registry by its DSN
// without the password (see Redact).
package db
