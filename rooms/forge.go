package rooms

// Forger seals file headers and pieces as anyone holding a room's key
// could, with whatever numbers they like: for tests that play a hostile
// member against real daemons over a real broker (cmd/sunoye). SunOye
// itself never uses it; what it seals is refused or taken exactly as a
// hostile member's payloads would be.
type Forger struct {
	key  Key
	id   Identity
	name string
	seq  uint64
}

// NewForger returns a Forger sealing with key, signing as id under name.
func NewForger(key Key, id Identity, name string) *Forger {
	return &Forger{key: key, id: id, name: name}
}

// Topic is the room's message topic.
func (f *Forger) Topic() string { return topicsFor(f.key).messages }

// Header seals the header of file msgID, announcing name, size, pieces
// and the hex SHA-256 sum, numbered next in run 1 of the signer.
func (f *Forger) Header(msgID, name string, size int64, pieces int, sum string, ts int64) ([]byte, error) {
	f.seq++
	return seal(newAEAD(f.key), f.Topic(), f.id, body{
		Type: typeFile, ID: msgID, Name: f.name, TS: ts, Run: 1, Seq: f.seq,
		File: &fileMeta{Name: name, Size: size, Pieces: pieces, SHA256: sum},
	})
}

// Piece seals piece index of file msgID.
func (f *Forger) Piece(msgID string, index int, data []byte, ts int64) ([]byte, error) {
	return seal(newAEAD(f.key), f.Topic(), f.id, body{
		Type: typePiece, ID: msgID, Name: f.name, TS: ts, Piece: &filePiece{Index: index, Data: data},
	})
}

// PieceBytes is the size of every piece of a file but the last.
const PieceBytes = pieceBytes
