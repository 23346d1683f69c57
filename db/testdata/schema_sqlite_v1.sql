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
--   - SQLite has no CREATE OR REPLACE VIEW: the view is dropped and created.
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

CREATE TABLE IF NOT EXISTS sunoye_members (
    room_no    TEXT    NOT NULL REFERENCES sunoye_rooms (room_no) ON DELETE CASCADE,
    generation INTEGER NOT NULL,
    member_id  TEXT    NOT NULL,
    -- Not indexed, for the reason given in schema.sql.
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (room_no, member_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS sunoye_members_member ON sunoye_members (member_id);

DROP VIEW IF EXISTS sunoye_room_status;

CREATE VIEW sunoye_room_status AS
SELECT r.room_no              AS room_no,
       COUNT(m.member_id)     AS members,
       COUNT(m.member_id) > 0 AS active
FROM sunoye_rooms r
LEFT JOIN sunoye_members m
       ON m.room_no = r.room_no
      AND m.generation = r.generation
      AND m.expires_at > CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
GROUP BY r.room_no;

INSERT OR IGNORE INTO sunoye_schema (version, applied_at)
VALUES (1, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
