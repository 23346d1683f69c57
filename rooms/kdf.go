package rooms

// KDFParams are the Argon2id parameters with which a room key is derived
// from the room password. They are stored per room so that they can be
// raised for new rooms without breaking old ones.
type KDFParams struct {
	Time      uint32 // iterations
	MemoryKiB uint32
	Threads   uint8
}
