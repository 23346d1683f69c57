package db

// queries are the statements with which the SQLite backend enforces the
// registry's rules, the same as those of schema.sql's procedures. Times
// are computed by the database ({now}); a lease's end is {now} plus its
// TTL in milliseconds, a parameter.
type queries struct {
	insertRoom, replaceRoom, room, live     string
	deleteLeases, upsertLease, renew, count string
	leave, lookup                           string
}

func newQueries(d *dialect) queries {
	return queries{
		insertRoom: d.sql(`INSERT INTO sunoye_rooms
			(room_no, generation, salt, kdf_name, kdf_time, kdf_memory_kib, kdf_threads, verifier, created_at)
			VALUES (?, ?, ?, 'argon2id', ?, ?, ?, ?, {now})`),
		replaceRoom: d.sql(`UPDATE sunoye_rooms
			SET generation = ?, salt = ?, kdf_name = 'argon2id', kdf_time = ?, kdf_memory_kib = ?, kdf_threads = ?,
			    verifier = ?, created_at = {now}
			WHERE room_no = ?`),
		room: d.sql(`SELECT generation, verifier FROM sunoye_rooms WHERE room_no = ?{lock}`),
		// Live leases of a room's current generation.
		live: d.sql(`SELECT COUNT(*) FROM sunoye_leases
			WHERE room_no = ? AND generation = ? AND expires_at > {now}{lock}`),
		deleteLeases: d.sql(`DELETE FROM sunoye_leases WHERE room_no = ?`),
		upsertLease: d.sql(`INSERT INTO sunoye_leases (room_no, generation, holder, expires_at)
			VALUES (?, ?, ?, {now} + ?)
			ON CONFLICT (room_no, holder) DO UPDATE SET generation = excluded.generation, expires_at = excluded.expires_at`),
		renew: d.sql(`UPDATE sunoye_leases SET expires_at = {now} + ?
			WHERE room_no = ? AND holder = ? AND generation = ?`),
		count: d.sql(`SELECT COUNT(*) FROM sunoye_leases
			WHERE room_no = ? AND generation = ? AND expires_at > {now}`),
		leave: d.sql(`DELETE FROM sunoye_leases WHERE room_no = ? AND holder = ?`),
		lookup: d.sql(`SELECT r.generation, r.salt, r.kdf_name, r.kdf_time, r.kdf_memory_kib, r.kdf_threads,
			r.verifier,
			(SELECT COUNT(*) FROM sunoye_leases l
			 WHERE l.room_no = r.room_no AND l.generation = r.generation AND l.expires_at > {now})
			FROM sunoye_rooms r WHERE r.room_no = ?`),
	}
}
