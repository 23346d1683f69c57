-- SunOye room registry: schema for MySQL 8 and MariaDB 10.11.
--
-- This file is idempotent: applying it again changes nothing, so
-- `mysql sunoye < schema.sql` is safe on a database that already has it.
-- The sunoye daemon embeds this file (package sunoye, SchemaSQL) and applies
-- it on start (db.Open calls Migrate), statement by statement; it must
-- therefore stay free of DELIMITER blocks, stored procedures and
-- statements that are not idempotent.
--
-- db/schema_sqlite.sql is the same schema for the embedded SQLite file; a
-- test checks that both define the same tables and columns.
--
-- What the registry does NOT store: room passwords (only a salt, the KDF
-- parameters and a verifier derived from the room key, so that a client can
-- check a password without the registry ever seeing it), messages, and the
-- "active" flag or member count of a room. The original SunOye stored the
-- last two and they drifted whenever a client crashed without leaving; here
-- they are derived from leases that expire by themselves (see
-- sunoye_members and the sunoye_room_status view).
--
-- Times are BIGINT milliseconds since the Unix epoch, taken from the
-- DATABASE SERVER's clock inside each statement, never from a client:
-- clients with skewed clocks then agree on whether a lease is live. The
-- expression used is
--   TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(3)) DIV 1000
-- rather than UNIX_TIMESTAMP(NOW(3)): NOW() is in the session's time zone,
-- and converting it back with UNIX_TIMESTAMP is off by an hour during the
-- repeated hour at the end of daylight saving time; UTC_TIMESTAMP is not.
-- Both are fixed for the duration of a statement and safe for statement-based
-- replication.
--
-- Replication (Galera, group replication, Vitess): every table has an
-- explicit primary key, as these require (Galera replicates row events by
-- key, and a table without one is slow or refused); no key is
-- AUTO_INCREMENT, so nothing depends on auto_increment_offset settings per
-- node: room numbers are random and chosen by clients, generations are
-- computed inside the transaction that creates a room. Conflicting writes on
-- different Galera nodes fail certification with a deadlock error at commit;
-- the daemon retries those.
--
-- Privileges the daemon's account needs on this database:
--   GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, REFERENCES,
--         CREATE VIEW, SHOW VIEW ON sunoye.* TO 'sunoye'@'%';
-- (CREATE/DROP/INDEX/REFERENCES/CREATE VIEW only for applying this file; an
-- administrator may apply it once and grant only the first four.)
--
-- Character set: utf8mb4 with a binary collation, so that identifiers
-- compare byte for byte (member ids may be case-sensitive encodings of a
-- key) on both MySQL (whose default collation is utf8mb4_0900_ai_ci) and
-- MariaDB (utf8mb4_general_ci).

-- Schema versions applied to this database, one row each. db.Migrate reads
-- the highest version and applies only later migrations, in order; this
-- file is version 1, the baseline.
CREATE TABLE IF NOT EXISTS sunoye_schema (
    version    INT    NOT NULL,
    -- When the version was applied (server clock, ms since the epoch).
    applied_at BIGINT NOT NULL,
    PRIMARY KEY (version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per room number that has ever been created. A row is kept when
-- the room becomes inactive (its last lease ends): creating a room with that
-- number again reuses the row with generation+1 and fresh key material.
CREATE TABLE IF NOT EXISTS sunoye_rooms (
    -- The nine-digit room number, drawn at random by the creating client.
    -- It is the natural key: no surrogate id is needed.
    room_no        VARCHAR(16)       NOT NULL,
    -- How often this number has been (re)created, starting at 1. Leases
    -- and room keys belong to one generation, so a member of an old,
    -- dead room cannot slip into a new room that reuses the number.
    generation     BIGINT            NOT NULL,
    -- Random salt of the key derivation; a new one per generation.
    salt           VARBINARY(255)    NOT NULL,
    -- Key derivation function and its parameters, stored per room so that
    -- they can be raised for new rooms without breaking old ones. kdf_name
    -- is 'argon2id' today; a client that finds a name it does not know
    -- refuses the room rather than deriving a wrong key.
    kdf_name       VARCHAR(32)       NOT NULL,
    kdf_time       INT UNSIGNED      NOT NULL,
    kdf_memory_kib INT UNSIGNED      NOT NULL,
    kdf_threads    TINYINT UNSIGNED  NOT NULL,
    -- Derived from the room key; lets a client check a password offline.
    -- Never the password, never the key.
    verifier       VARBINARY(255)    NOT NULL,
    -- When this generation was created (server clock, ms since the epoch).
    created_at     BIGINT            NOT NULL,
    PRIMARY KEY (room_no)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Memberships, as leases: a member (a running daemon) holds a lease on a
-- room until expires_at and renews it with a heartbeat. A daemon that
-- crashes stops renewing, its lease lapses, and it stops being counted
-- without anybody cleaning up. A room's member count is the number of its
-- live leases (expires_at in the future) and it is active while that is
-- not zero.
--
-- Invariant: a lease's generation is its room's current generation. The
-- transaction that re-creates a room (generation+1) deletes the old
-- generation's leases; the column lets a renewal say which generation it
-- means, so that a member of the old room finds it gone.
CREATE TABLE IF NOT EXISTS sunoye_members (
    room_no    VARCHAR(16)  NOT NULL,
    generation BIGINT       NOT NULL,
    -- Derived by the member from its signing key.
    member_id  VARCHAR(128) NOT NULL,
    -- End of the lease (server clock, ms since the epoch). Deliberately not
    -- indexed: it is the column every heartbeat writes, and an index on it
    -- would turn each heartbeat into index maintenance. Counting the live
    -- leases of a room scans the room's few rows through the primary key.
    expires_at BIGINT       NOT NULL,
    -- One lease per member and room; the clustered primary key keeps a
    -- room's leases together, so counting them per room is a short range
    -- scan on its prefix room_no.
    PRIMARY KEY (room_no, member_id),
    -- A heartbeat renews all of a member's leases with one UPDATE by
    -- member_id.
    KEY sunoye_members_member (member_id),
    -- No lease without its room; leases go with a deleted room.
    CONSTRAINT sunoye_members_room FOREIGN KEY (room_no)
        REFERENCES sunoye_rooms (room_no) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- For humans browsing the database: each room with its member count and
-- whether it is active, derived from live leases exactly as the daemon
-- derives them. SQL SECURITY INVOKER so that the view does not depend on the
-- account that created it still existing.
CREATE OR REPLACE SQL SECURITY INVOKER VIEW sunoye_room_status AS
SELECT r.room_no                 AS room_no,
       COUNT(m.member_id)        AS members,
       COUNT(m.member_id) > 0    AS active
FROM sunoye_rooms r
LEFT JOIN sunoye_members m
       ON m.room_no = r.room_no
      AND m.generation = r.generation
      AND m.expires_at > (TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(3)) DIV 1000)
GROUP BY r.room_no;

-- Record the baseline. INSERT IGNORE: applying the file again is a no-op.
INSERT IGNORE INTO sunoye_schema (version, applied_at)
VALUES (1, TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(3)) DIV 1000);
