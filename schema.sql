-- SunOye room registry: schema for MySQL 8 and MariaDB 10.11.
--
-- This file is idempotent: applying it again changes nothing, so
-- `mysql sunoye < schema.sql` is safe on a database that already has it.
-- The sunoye daemon embeds this file (package sunoye, SchemaSQL) and
-- `sunoye db migrate` applies it statement by statement, splitting it as
-- the mysql client does (DELIMITER lines included); every statement in it
-- must therefore be idempotent (CREATE ... IF NOT EXISTS, CREATE OR
-- REPLACE, DROP PROCEDURE IF EXISTS before CREATE PROCEDURE, INSERT
-- IGNORE).
--
-- db/schema_sqlite.sql is the same schema for the embedded SQLite file; a
-- test checks that both define the same tables and columns. SQLite has no
-- stored procedures: package db enforces the same rules in Go there (the
-- file is local, and whoever can write it can write anything anyway).
--
-- The registry is shared with people who may be hostile. Members'
-- accounts therefore cannot read or change the tables: they may only run
-- the stored procedures below (SQL SECURITY DEFINER: they run with the
-- rights of the administrator who created them), which enforce the rules
-- (see rooms.Registry):
--   - a lease is added only with a join proof that matches the room's
--     verifier (the verifier is 0x02 || SHA-256(proof): the registry never
--     sees the proof at rest, nor the room key or password);
--   - a lease is renewed or ended only by its holder, who shows a token
--     whose SHA-256 the registry keeps;
--   - a room's salt, KDF parameters and verifier change only when its
--     number is reused, which it can be only while it has no live lease;
--   - every argument is checked: lengths, room numbers, KDF parameters
--     within the bounds a client accepts (rooms.KDFParams.Validate), lease
--     times of at most 10 minutes.
-- Rooms created under schema 1 have a legacy verifier (32 bytes) that
-- cannot check proofs: joining and renewing them skips the check, as
-- schema 1 did, until they become inactive; creating or re-registering a
-- room needs a verifier of schema 2.
--
-- What the registry does NOT store: room passwords or keys, join proofs,
-- lease tokens, member ids (nothing links a lease to a person or one
-- member's leases to each other), messages, and the "active" flag or
-- member count of a room. The original SunOye stored the last two and
-- they drifted whenever a client crashed without leaving; here they are
-- derived from leases that expire by themselves (see sunoye_leases and the
-- sunoye_room_status view).
--
-- Privileges. An administrator applies this file, with
--   sunoye db migrate --db 'mysql://ADMIN:…@HOST/sunoye'
-- (or mysql sunoye < schema.sql), from an account that may create tables,
-- views and procedures (CREATE, DROP, ALTER, INDEX, REFERENCES, CREATE
-- VIEW, CREATE ROUTINE, ALTER ROUTINE, SELECT, INSERT, UPDATE, DELETE on
-- the database). That account becomes the procedures' DEFINER: keep it.
-- Each member gets an account of their own with EXECUTE on the procedures
-- and nothing else; `sunoye db grant USER@HOST` prints the statements:
--   GRANT EXECUTE ON PROCEDURE `sunoye`.`sunoye_create` TO 'alice'@'%';
--   ...
-- A daemon on such an account learns the schema version from
-- sunoye_version() and never tries to change the schema.
--
-- Times are BIGINT milliseconds since the Unix epoch, taken from the
-- DATABASE SERVER's clock, never from a client: clients with skewed clocks
-- then agree on whether a lease is live. The expression used is
--   TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(3)) DIV 1000
-- rather than UNIX_TIMESTAMP(NOW(3)): NOW() is in the session's time zone,
-- and converting it back with UNIX_TIMESTAMP is off by an hour during the
-- repeated hour at the end of daylight saving time; UTC_TIMESTAMP is not.
--
-- Replication (Galera, group replication, Vitess): every table has an
-- explicit primary key, as these require (Galera replicates row events by
-- key, and a table without one is slow or refused); no key is
-- AUTO_INCREMENT, so nothing depends on auto_increment_offset settings per
-- node: room numbers are random and chosen by clients, generations are
-- computed inside the transaction that creates a room. Each procedure
-- that writes runs its own transaction; conflicting writes on different
-- Galera nodes fail certification with a deadlock error (1213), which the
-- procedure passes on after rolling back, and the daemon calls it again.
--
-- Character set: utf8mb4 with a binary collation, so that identifiers
-- compare byte for byte on both MySQL (whose default collation is
-- utf8mb4_0900_ai_ci) and MariaDB (utf8mb4_general_ci).

-- Schema versions applied to this database, one row each. db.Migrate reads
-- the highest version (through sunoye_version(), which members may run)
-- and applies only later migrations, in order. Version 1 had a table
-- sunoye_members keyed by member id; version 2 replaced it by
-- sunoye_leases and added the procedures.
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
    -- Derived from the room key; lets a client check a password offline
    -- and the registry check a join proof: 0x02 || SHA-256(proof), 33
    -- bytes (32 bytes without the 0x02: a legacy verifier of schema 1,
    -- which cannot check proofs). Never the password, never the key.
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
-- A lease names no member: its key is the SHA-256 of a token that only
-- its holder knows (different in every room and generation), so the
-- registry can tell that whoever renews or ends a lease holds it, without
-- being able to link one member's leases or to act for them.
--
-- Invariant: a lease's generation is its room's current generation. The
-- transaction that re-creates a room (generation+1) deletes the old
-- generation's leases; the column lets a renewal say which generation it
-- means, so that a member of the old room finds it gone.
CREATE TABLE IF NOT EXISTS sunoye_leases (
    room_no    VARCHAR(16) NOT NULL,
    generation BIGINT      NOT NULL,
    -- SHA-256 of the holder's lease token (rooms.Credentials.Token).
    holder     BINARY(32)  NOT NULL,
    -- End of the lease (server clock, ms since the epoch). Deliberately not
    -- indexed: it is the column every heartbeat writes, and an index on it
    -- would turn each heartbeat into index maintenance. Counting the live
    -- leases of a room scans the room's few rows through the primary key.
    expires_at BIGINT      NOT NULL,
    -- One lease per holder and room; the clustered primary key keeps a
    -- room's leases together, so counting them per room is a short range
    -- scan on its prefix room_no, and a heartbeat finds its row by the
    -- whole key.
    PRIMARY KEY (room_no, holder),
    -- No lease without its room; leases go with a deleted room.
    CONSTRAINT sunoye_leases_room FOREIGN KEY (room_no)
        REFERENCES sunoye_rooms (room_no) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Upgrade from schema 1, whose leases were rows of sunoye_members keyed by
-- member id: the live ones are copied with holder SHA-256('legacy:' ||
-- member_id), so that rooms stay active during the upgrade. Nobody holds
-- the token of such a copy: it simply expires, and upgraded daemons take
-- their leases again with their own tokens (sunoye_renew restores a
-- missing lease). On a database without sunoye_members this does nothing.
DROP PROCEDURE IF EXISTS sunoye_upgrade_members;
DELIMITER //
CREATE PROCEDURE sunoye_upgrade_members()
    MODIFIES SQL DATA
    SQL SECURITY DEFINER
BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.tables
               WHERE table_schema = DATABASE() AND table_name = 'sunoye_members') THEN
        INSERT IGNORE INTO sunoye_leases (room_no, generation, holder, expires_at)
        SELECT room_no, generation, UNHEX(SHA2(CONCAT('legacy:', member_id), 256)), expires_at
        FROM sunoye_members
        WHERE expires_at > (TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(3)) DIV 1000);
        DROP TABLE IF EXISTS sunoye_members;
    END IF;
END//
DELIMITER ;
CALL sunoye_upgrade_members();
DROP PROCEDURE IF EXISTS sunoye_upgrade_members;

-- For humans browsing the database: each room with its member count and
-- whether it is active, derived from live leases exactly as the daemon
-- derives them. SQL SECURITY INVOKER so that the view does not depend on the
-- account that created it still existing (members cannot read it).
CREATE OR REPLACE SQL SECURITY INVOKER VIEW sunoye_room_status AS
SELECT r.room_no              AS room_no,
       COUNT(l.holder)        AS members,
       COUNT(l.holder) > 0    AS active
FROM sunoye_rooms r
LEFT JOIN sunoye_leases l
       ON l.room_no = r.room_no
      AND l.generation = r.generation
      AND l.expires_at > (TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(3)) DIV 1000)
GROUP BY r.room_no;

-- The procedures. Members may run these and nothing else (`sunoye db
-- grant`): sunoye_version, sunoye_lookup, sunoye_create, sunoye_join,
-- sunoye_renew, sunoye_reregister, sunoye_leave. The others
-- (sunoye_check_* for the shared argument checks, sunoye_put_lease,
-- sunoye_insert_room) are called by those; members are not granted them.
--
-- A refusal is SIGNAL SQLSTATE '45000' (error 1644) with a MESSAGE_TEXT
-- "sunoye: KIND[: detail]", KIND one of "bad room number", "invalid",
-- "no such room", "room inactive", "room taken", "wrong password"; package
-- db maps KIND to the errors of package rooms. Results are the final
-- SELECT of a procedure.
--
-- Every procedure that writes runs its own transaction (START TRANSACTION
-- commits whatever the caller had open) and rolls it back on any error,
-- so that no caller can hold the registry's locks, or see half of an
-- operation, whatever its session settings. Lease times are capped at 10
-- minutes (600000 ms): nobody can hold a room open with a lease of a year.
-- Parameters of type VARCHAR name their collation: the tables' is
-- utf8mb4_bin, and a parameter in the database's default collation would
-- not compare with their columns.

DROP PROCEDURE IF EXISTS sunoye_check_room;
DELIMITER //
CREATE PROCEDURE sunoye_check_room(IN p_room VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
    NO SQL
    SQL SECURITY DEFINER
BEGIN
    -- Nine digits, not starting with 0 (rooms.ParseID).
    IF p_room IS NULL OR p_room NOT REGEXP '^[1-9][0-9]{8}$' THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'sunoye: bad room number';
    END IF;
END//
DELIMITER ;

DROP PROCEDURE IF EXISTS sunoye_check_credentials;
DELIMITER //
CREATE PROCEDURE sunoye_check_credentials(IN p_proof VARBINARY(255), IN p_token VARBINARY(255), IN p_ttl_ms BIGINT)
    NO SQL
    SQL SECURITY DEFINER
BEGIN
    -- Both are HMAC-SHA-256 values (rooms.Credentials).
    IF p_proof IS NULL OR LENGTH(p_proof) <> 32 THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'sunoye: invalid: the join proof must be 32 bytes';
    END IF;
    IF p_token IS NULL OR LENGTH(p_token) <> 32 THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'sunoye: invalid: the lease token must be 32 bytes';
    END IF;
    IF p_ttl_ms IS NULL OR p_ttl_ms < 1 THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'sunoye: invalid: the lease time must be positive';
    END IF;
END//
DELIMITER ;

DROP PROCEDURE IF EXISTS sunoye_check_record;
DELIMITER //
CREATE PROCEDURE sunoye_check_record(
    IN p_room VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
    IN p_salt VARBINARY(255),
    IN p_kdf_time BIGINT, IN p_kdf_memory_kib BIGINT, IN p_kdf_threads BIGINT,
    IN p_verifier VARBINARY(255), IN p_proof VARBINARY(255))
    NO SQL
    SQL SECURITY DEFINER
BEGIN
    CALL sunoye_check_room(p_room);
    IF p_salt IS NULL OR LENGTH(p_salt) < 8 THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'sunoye: invalid: the salt must be 8 to 255 bytes';
    END IF;
    -- The bounds of rooms.KDFParams.Validate: a room must not cost its
    -- joiners seconds and gigabytes.
    IF p_kdf_time IS NULL OR p_kdf_memory_kib IS NULL OR p_kdf_threads IS NULL
       OR p_kdf_time < 1 OR p_kdf_time > 16
       OR p_kdf_threads < 1 OR p_kdf_threads > 16
       OR p_kdf_memory_kib < 8 * p_kdf_threads OR p_kdf_memory_kib > 262144
       OR p_kdf_time * p_kdf_memory_kib > 1048576 THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'sunoye: invalid: argon2id parameters out of range';
    END IF;
    -- A new room's verifier is 0x02 || SHA-256(join proof), and the
    -- creator shows the proof.
    IF p_verifier IS NULL OR LENGTH(p_verifier) <> 33 OR LEFT(p_verifier, 1) <> 0x02 THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'sunoye: invalid: the verifier is not of schema 2';
    END IF;
    IF p_proof IS NULL OR UNHEX(SHA2(p_proof, 256)) <> SUBSTRING(p_verifier, 2) THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'sunoye: wrong password: the join proof does not match the verifier';
    END IF;
END//
DELIMITER ;

DROP PROCEDURE IF EXISTS sunoye_check_proof;
DELIMITER //
CREATE PROCEDURE sunoye_check_proof(IN p_verifier VARBINARY(255), IN p_proof VARBINARY(255), OUT p_ok BOOLEAN)
    NO SQL
    SQL SECURITY DEFINER
BEGIN
    -- rooms.CheckProof. A legacy verifier (schema 1) cannot check a
    -- proof: its room keeps schema 1's rules until it ends.
    SET p_ok = LENGTH(p_verifier) <> 33 OR LEFT(p_verifier, 1) <> 0x02
            OR UNHEX(SHA2(p_proof, 256)) = SUBSTRING(p_verifier, 2);
END//
DELIMITER ;

DROP PROCEDURE IF EXISTS sunoye_put_lease;
DELIMITER //
CREATE PROCEDURE sunoye_put_lease(
    IN p_room VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
    IN p_generation BIGINT, IN p_token VARBINARY(255), IN p_ttl_ms BIGINT)
    MODIFIES SQL DATA
    SQL SECURITY DEFINER
BEGIN
    -- The lease of the token's holder, taken or renewed, for at most 10
    -- minutes. Only for the procedures below, which check the rules.
    INSERT INTO sunoye_leases (room_no, generation, holder, expires_at)
    VALUES (p_room, p_generation, UNHEX(SHA2(p_token, 256)),
            (TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(3)) DIV 1000) + LEAST(p_ttl_ms, 600000))
    ON DUPLICATE KEY UPDATE
        generation = p_generation,
        expires_at = (TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(3)) DIV 1000) + LEAST(p_ttl_ms, 600000);
END//
DELIMITER ;

DROP PROCEDURE IF EXISTS sunoye_insert_room;
DELIMITER //
CREATE PROCEDURE sunoye_insert_room(
    IN p_room VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
    IN p_generation BIGINT,
    IN p_salt VARBINARY(255),
    IN p_kdf_time BIGINT, IN p_kdf_memory_kib BIGINT, IN p_kdf_threads BIGINT,
    IN p_verifier VARBINARY(255),
    OUT p_exists BOOLEAN)
    MODIFIES SQL DATA
    SQL SECURITY DEFINER
BEGIN
    -- Insert the room outright; p_exists says whether its number was
    -- there. A bare INSERT takes no gap locks, so creators of different
    -- numbers never wait for each other.
    DECLARE CONTINUE HANDLER FOR 1062 SET p_exists = TRUE;
    SET p_exists = FALSE;
    INSERT INTO sunoye_rooms
        (room_no, generation, salt, kdf_name, kdf_time, kdf_memory_kib, kdf_threads, verifier, created_at)
    VALUES (p_room, p_generation, p_salt, 'argon2id', p_kdf_time, p_kdf_memory_kib, p_kdf_threads, p_verifier,
            (TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(3)) DIV 1000));
END//
DELIMITER ;

DROP PROCEDURE IF EXISTS sunoye_version;
DELIMITER //
-- The schema version of this database, as one row with one column
-- (version). Daemons read it through this procedure rather than the
-- table, which members may not read.
CREATE PROCEDURE sunoye_version()
    READS SQL DATA
    SQL SECURITY DEFINER
BEGIN
    SELECT MAX(version) AS version FROM sunoye_schema;
END//
DELIMITER ;

DROP PROCEDURE IF EXISTS sunoye_lookup;
DELIMITER //
-- A room's record and its number of live leases; no row for an unknown
-- number.
CREATE PROCEDURE sunoye_lookup(IN p_room VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
    READS SQL DATA
    SQL SECURITY DEFINER
BEGIN
    CALL sunoye_check_room(p_room);
    SELECT r.generation, r.salt, r.kdf_name, r.kdf_time, r.kdf_memory_kib, r.kdf_threads, r.verifier,
           (SELECT COUNT(*) FROM sunoye_leases l
            WHERE l.room_no = r.room_no AND l.generation = r.generation
              AND l.expires_at > (TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(3)) DIV 1000)) AS members
    FROM sunoye_rooms r
    WHERE r.room_no = p_room;
END//
DELIMITER ;

DROP PROCEDURE IF EXISTS sunoye_create;
DELIMITER //
-- Create a room with the caller's lease, or replace an inactive room of
-- that number with generation+1, deleting its old leases. Returns the
-- generation.
CREATE PROCEDURE sunoye_create(
    IN p_room VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
    IN p_salt VARBINARY(255),
    IN p_kdf_time BIGINT, IN p_kdf_memory_kib BIGINT, IN p_kdf_threads BIGINT,
    IN p_verifier VARBINARY(255),
    IN p_proof VARBINARY(255), IN p_token VARBINARY(255), IN p_ttl_ms BIGINT)
    MODIFIES SQL DATA
    SQL SECURITY DEFINER
BEGIN
    DECLARE v_gen, v_live BIGINT;
    DECLARE v_exists BOOLEAN DEFAULT FALSE;
    DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
    CALL sunoye_check_record(p_room, p_salt, p_kdf_time, p_kdf_memory_kib, p_kdf_threads, p_verifier, p_proof);
    CALL sunoye_check_credentials(p_proof, p_token, p_ttl_ms);
    -- A fresh random number is the common case: insert it outright.
    START TRANSACTION;
    CALL sunoye_insert_room(p_room, 1, p_salt, p_kdf_time, p_kdf_memory_kib, p_kdf_threads, p_verifier, v_exists);
    SET v_gen = 1;
    IF v_exists THEN
        -- The number exists (or another creator has just inserted it and
        -- we waited for its commit). A new transaction, so that it starts
        -- by locking the row exclusively, rather than upgrading the shared
        -- lock that the failed insert took, which deadlocks with others
        -- doing the same.
        ROLLBACK;
        START TRANSACTION;
        SELECT MAX(generation) INTO v_gen FROM sunoye_rooms WHERE room_no = p_room FOR UPDATE;
        IF v_gen IS NULL THEN
            -- Deleted since the insert failed: as after a deadlock, the
            -- caller calls again.
            SIGNAL SQLSTATE '40001' SET MESSAGE_TEXT = 'sunoye: the room changed; try again', MYSQL_ERRNO = 1213;
        END IF;
        -- Live leases, locking all the room's lease rows (through the
        -- primary key, expired ones included): a concurrent renewal that
        -- restores a lapsed lease either commits first and is counted, or
        -- waits and then finds its lease deleted.
        SELECT COUNT(*) INTO v_live FROM sunoye_leases
        WHERE room_no = p_room
          AND expires_at > (TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(3)) DIV 1000)
        FOR UPDATE;
        IF v_live > 0 THEN
            SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'sunoye: room taken';
        END IF;
        SET v_gen = v_gen + 1;
        DELETE FROM sunoye_leases WHERE room_no = p_room;
        UPDATE sunoye_rooms
        SET generation = v_gen, salt = p_salt, kdf_name = 'argon2id', kdf_time = p_kdf_time,
            kdf_memory_kib = p_kdf_memory_kib, kdf_threads = p_kdf_threads, verifier = p_verifier,
            created_at = (TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(3)) DIV 1000)
        WHERE room_no = p_room;
    END IF;
    CALL sunoye_put_lease(p_room, v_gen, p_token, p_ttl_ms);
    COMMIT;
    SELECT v_gen AS generation;
END//
DELIMITER ;

DROP PROCEDURE IF EXISTS sunoye_join;
DELIMITER //
-- Give the token's holder a lease on a live room of the given generation,
-- or renew it, if the proof matches the room's verifier.
CREATE PROCEDURE sunoye_join(
    IN p_room VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
    IN p_generation BIGINT,
    IN p_proof VARBINARY(255), IN p_token VARBINARY(255), IN p_ttl_ms BIGINT)
    MODIFIES SQL DATA
    SQL SECURITY DEFINER
BEGIN
    DECLARE v_gen, v_live BIGINT;
    DECLARE v_verifier VARBINARY(255);
    DECLARE v_ok BOOLEAN;
    DECLARE CONTINUE HANDLER FOR NOT FOUND BEGIN END;
    DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
    CALL sunoye_check_room(p_room);
    CALL sunoye_check_credentials(p_proof, p_token, p_ttl_ms);
    START TRANSACTION;
    -- A shared lock on the room row, so that creating the room again and
    -- joining it take turns, while joiners do not wait for each other.
    -- (Nor do they conflict across Galera nodes: each lease's foreign key
    -- holds the room row shared too. With an exclusive lock here, joiners
    -- on two nodes aborted each other, and TestGalera's race of joiners
    -- now and then stalled a node until the callers gave up.)
    SELECT generation, verifier INTO v_gen, v_verifier FROM sunoye_rooms WHERE room_no = p_room LOCK IN SHARE MODE;
    IF v_gen IS NULL THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'sunoye: no such room';
    END IF;
    IF NOT v_gen <=> p_generation THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'sunoye: room inactive: the number was reused';
    END IF;
    -- Live leases, the joiner's own included: a daemon that restarts
    -- within its lease keeps its room.
    SELECT COUNT(*) INTO v_live FROM sunoye_leases
    WHERE room_no = p_room AND generation = v_gen
      AND expires_at > (TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(3)) DIV 1000);
    IF v_live = 0 THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'sunoye: room inactive';
    END IF;
    CALL sunoye_check_proof(v_verifier, p_proof, v_ok);
    IF NOT v_ok THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'sunoye: wrong password: the join proof does not match the room';
    END IF;
    CALL sunoye_put_lease(p_room, v_gen, p_token, p_ttl_ms);
    COMMIT;
END//
DELIMITER ;

DROP PROCEDURE IF EXISTS sunoye_renew;
DELIMITER //
-- Extend the token holder's lease of the given generation. A lease whose
-- row is missing (its holder's clean shutdown deleted it, so may an
-- administrator, and a lease copied from schema 1 has another holder) is
-- taken again if the room is still that generation and the proof matches. Returns renewed (0: the room is gone, or another
-- generation) and the room's live leases.
CREATE PROCEDURE sunoye_renew(
    IN p_room VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
    IN p_generation BIGINT,
    IN p_proof VARBINARY(255), IN p_token VARBINARY(255), IN p_ttl_ms BIGINT)
    MODIFIES SQL DATA
    SQL SECURITY DEFINER
BEGIN
    DECLARE v_gen BIGINT;
    DECLARE v_verifier VARBINARY(255);
    DECLARE v_ok BOOLEAN;
    DECLARE v_renewed BOOLEAN DEFAULT TRUE;
    DECLARE CONTINUE HANDLER FOR NOT FOUND BEGIN END;
    DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
    CALL sunoye_check_room(p_room);
    CALL sunoye_check_credentials(p_proof, p_token, p_ttl_ms);
    START TRANSACTION;
    -- The heartbeat's usual case: one row, by its whole primary key. It
    -- reads no room row, and locks none, which would make heartbeats wait
    -- for (and deadlock with) creators and joiners: a lease row exists
    -- only for its room's current generation (creating a room again
    -- deletes the old ones).
    UPDATE sunoye_leases
    SET expires_at = (TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(3)) DIV 1000) + LEAST(p_ttl_ms, 600000)
    WHERE room_no = p_room AND holder = UNHEX(SHA2(p_token, 256)) AND generation = p_generation;
    IF ROW_COUNT() = 0 THEN
        -- No row (or one renewed within the same millisecond, without
        -- CLIENT_FOUND_ROWS: harmless, it is renewed again here). The
        -- member never left: as long as the room is the same generation,
        -- the lease is taken again. The shared lock on the room row keeps
        -- this from slipping in beside a creation of the room anew.
        SELECT generation, verifier INTO v_gen, v_verifier FROM sunoye_rooms WHERE room_no = p_room LOCK IN SHARE MODE;
        CALL sunoye_check_proof(v_verifier, p_proof, v_ok);
        IF v_gen = p_generation AND v_ok THEN
            CALL sunoye_put_lease(p_room, v_gen, p_token, p_ttl_ms);
        ELSE
            SET v_renewed = FALSE;
        END IF;
    END IF;
    COMMIT;
    SELECT v_renewed AS renewed,
           (SELECT COUNT(*) FROM sunoye_leases
            WHERE room_no = p_room AND generation = p_generation
              AND expires_at > (TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(3)) DIV 1000)) AS members;
END//
DELIMITER ;

DROP PROCEDURE IF EXISTS sunoye_reregister;
DELIMITER //
-- Put back a room that the registry lost, as its members know it
-- (generation included), with the caller's lease; if the room is there
-- with that generation and verifier, only take or renew the caller's
-- lease. Any other room of that number: room taken.
CREATE PROCEDURE sunoye_reregister(
    IN p_room VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
    IN p_generation BIGINT,
    IN p_salt VARBINARY(255),
    IN p_kdf_time BIGINT, IN p_kdf_memory_kib BIGINT, IN p_kdf_threads BIGINT,
    IN p_verifier VARBINARY(255),
    IN p_proof VARBINARY(255), IN p_token VARBINARY(255), IN p_ttl_ms BIGINT)
    MODIFIES SQL DATA
    SQL SECURITY DEFINER
BEGIN
    DECLARE v_gen BIGINT;
    DECLARE v_verifier VARBINARY(255);
    DECLARE v_exists BOOLEAN DEFAULT FALSE;
    DECLARE CONTINUE HANDLER FOR NOT FOUND BEGIN END;
    DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
    CALL sunoye_check_record(p_room, p_salt, p_kdf_time, p_kdf_memory_kib, p_kdf_threads, p_verifier, p_proof);
    CALL sunoye_check_credentials(p_proof, p_token, p_ttl_ms);
    IF p_generation IS NULL OR p_generation < 1 THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'sunoye: invalid: the generation must be positive';
    END IF;
    START TRANSACTION;
    CALL sunoye_insert_room(p_room, p_generation, p_salt, p_kdf_time, p_kdf_memory_kib, p_kdf_threads, p_verifier, v_exists);
    IF v_exists THEN
        -- As in sunoye_create: a new transaction that locks the row first.
        ROLLBACK;
        START TRANSACTION;
        SELECT generation, verifier INTO v_gen, v_verifier FROM sunoye_rooms WHERE room_no = p_room FOR UPDATE;
        IF v_gen IS NULL THEN
            SIGNAL SQLSTATE '40001' SET MESSAGE_TEXT = 'sunoye: the room changed; try again', MYSQL_ERRNO = 1213;
        END IF;
        IF v_gen <> p_generation OR v_verifier <> p_verifier THEN
            SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'sunoye: room taken';
        END IF;
    END IF;
    CALL sunoye_put_lease(p_room, p_generation, p_token, p_ttl_ms);
    COMMIT;
END//
DELIMITER ;

DROP PROCEDURE IF EXISTS sunoye_leave;
DELIMITER //
-- End the token holder's lease on a room, if it has one.
CREATE PROCEDURE sunoye_leave(
    IN p_room VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
    IN p_token VARBINARY(255))
    MODIFIES SQL DATA
    SQL SECURITY DEFINER
BEGIN
    DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
    CALL sunoye_check_room(p_room);
    IF p_token IS NULL OR LENGTH(p_token) <> 32 THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'sunoye: invalid: the lease token must be 32 bytes';
    END IF;
    START TRANSACTION;
    DELETE FROM sunoye_leases WHERE room_no = p_room AND holder = UNHEX(SHA2(p_token, 256));
    COMMIT;
END//
DELIMITER ;

-- Record the versions this file brings a database to. INSERT IGNORE:
-- applying the file again is a no-op.
INSERT IGNORE INTO sunoye_schema (version, applied_at)
VALUES (1, TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(3)) DIV 1000),
       (2, TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(3)) DIV 1000);
