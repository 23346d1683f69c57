-- SunOye room registry: schema for the embedded SQLite file.
--
-- The same tables and columns as schema.sql at the repository root (the
-- MySQL schema, which explains each column); a test checks that the two
-- agree. Differences are only those of the engine:
--   - STRICT tables, so that SQLite checks column types as MySQL does;
--   - WITHOUT ROWID, so that the primary key is the table's clustered key,
--     as in InnoDB, and a room's leases are stored together;
--   - times are computed as
--       CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
--     milliseconds since the Unix epoch; 'now' is fixed for one statement;
--   - SQLite has no CREATE OR REPLACE VIEW: the view is dropped and created;
--   - SQLite has no stored procedures and no accounts: package db enforces
--     the rules of schema.sql's procedures in Go, in transactions;
--   - the upgrade from schema 1 (copying sunoye_members's live leases) is
--     done in Go too, by db.Migrate, since SQLite has no SHA-256.
-- Like schema.sql it is idempotent.

CREATE TABLE IF NOT EXISTS sunoye_schema (
    version    INTEGER NOT NULL PRIMARY KEY,
    applied_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS sunoye_rooms (
    room_no        TEXT    NOT NULL PRIMARY KEY,
    generation     INTEGER NOT NULL,
    salt           BLOB    NOT NULL,
    kdf_name       TEXT    NOT NULL,
    kdf_time       INTEGER NOT NULL,
    kdf_memory_kib INTEGER NOT NULL,
    kdf_threads    INTEGER NOT NULL,
    verifier       BLOB    NOT NULL,
    created_at     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS sunoye_leases (
    room_no    TEXT    NOT NULL REFERENCES sunoye_rooms (room_no) ON DELETE CASCADE,
    generation INTEGER NOT NULL,
    holder     BLOB    NOT NULL CHECK (length(holder) = 32),
    -- Not indexed, for the reason given in schema.sql.
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (room_no, holder)
) STRICT, WITHOUT ROWID;

DROP VIEW IF EXISTS sunoye_room_status;

CREATE VIEW sunoye_room_status AS
SELECT r.room_no              AS room_no,
       COUNT(l.holder)        AS members,
       COUNT(l.holder) > 0    AS active
FROM sunoye_rooms r
LEFT JOIN sunoye_leases l
       ON l.room_no = r.room_no
      AND l.generation = r.generation
      AND l.expires_at > CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
GROUP BY r.room_no;

INSERT OR IGNORE INTO sunoye_schema (version, applied_at)
VALUES (1, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
       (2, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
