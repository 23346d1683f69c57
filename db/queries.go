package db

// queries are the registry's fixed statements, in one dialect. Times are
// computed by the database ({now}); a lease's end is {now} plus its TTL in
// milliseconds, a parameter.
type queries struct {
	insertRoom, replaceRoom, lockRoom, lockLive   string
	deleteLeases, insertLease, updateLease, leave string
	joinCounts, lookup                            string
}

func newQueries(d *dialect) queries {
	return queries{
		insertRoom: d.sql(`INSERT INTO sunoye_rooms
			(room_no, generation, salt, kdf_name, kdf_time, kdf_memory_kib, kdf_threads, verifier, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, {now})`),
		replaceRoom: d.sql(`UPDATE sunoye_rooms
			SET generation = ?, salt = ?, kdf_name = ?, kdf_time = ?, kdf_memory_kib = ?, kdf_threads = ?,
			    verifier = ?, created_at = {now}
			WHERE room_no = ?`),
		// Locks the room row, so that creating the room again and joining
		// it take turns.
		lockRoom: d.sql(`SELECT generation FROM sunoye_rooms WHERE room_no = ?{lock}`),
		// Live leases of a room, locking all its lease rows (through the
		// primary key, expired ones included): a concurrent Renew that
		// restores a lapsed lease either commits first and is counted, or
		// waits and then finds its lease deleted.
		lockLive: d.sql(`SELECT COALESCE(SUM(CASE WHEN expires_at > {now} THEN 1 ELSE 0 END), 0)
			FROM sunoye_members WHERE room_no = ?{lock}`),
		deleteLeases: d.sql(`DELETE FROM sunoye_members WHERE room_no = ?`),
		insertLease: d.sql(`INSERT INTO sunoye_members (room_no, generation, member_id, expires_at)
			VALUES (?, ?, ?, {now} + ?)`),
		updateLease: d.sql(`UPDATE sunoye_members SET generation = ?, expires_at = {now} + ?
			WHERE room_no = ? AND member_id = ?`),
		leave: d.sql(`DELETE FROM sunoye_members WHERE room_no = ? AND member_id = ?`),
		// Live leases (the joiner's own included: a daemon that restarts
		// within its lease keeps its room), and whether the member has a
		// lease row (live or not) to update rather than insert.
		joinCounts: d.sql(`SELECT
			COALESCE(SUM(CASE WHEN expires_at > {now} THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN member_id = ? THEN 1 ELSE 0 END), 0)
			FROM sunoye_members WHERE room_no = ?`),
		lookup: d.sql(`SELECT r.generation, r.salt, r.kdf_name, r.kdf_time, r.kdf_memory_kib, r.kdf_threads,
			r.verifier,
			(SELECT COUNT(*) FROM sunoye_members m
			 WHERE m.room_no = r.room_no AND m.generation = r.generation AND m.expires_at > {now})
			FROM sunoye_rooms r WHERE r.room_no = ?`),
	}
}
