package rooms

import (
	"crypto/cipher"
	"time"
)

// Forger seals file headers and pieces as anyone holding a room's key
// could, with whatever numbers they like: for tests that play a hostile
// member against real daemons over a real broker (cmd/sunoye), and for
// benchmarks that time the wire format alone (Message, Open). SunOye
// itself never uses it; what it seals is refused or taken exactly as a
// hostile member's payloads would be.
type Forger struct {
	key  Key
	id   Identity
	name string
	seq  uint64
	aead cipher.AEAD // for Message and Open
}

// NewForger returns a Forger sealing with key, signing as id under name.
func NewForger(key Key, id Identity, name string) *Forger {
	return &Forger{key: key, id: id, name: name, aead: newAEAD(key)}
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

// Message seals a chat message of text, numbered next in run 1 of the
// signer, with a new id and the time now: byte for byte what Service.Send
// publishes. Benchmarks put raw MQTT carrying such payloads (Message
// before the publish, Open on receipt) beside the whole receive path, to
// tell the wire format's cost from the rest.
func (f *Forger) Message(text string) ([]byte, error) {
	f.seq++
	return seal(f.aead, f.Topic(), f.id, body{
		Type: typeMessage, ID: newMessageID(), Name: f.name, TS: time.Now().UnixMilli(),
		Text: text, Run: 1, Seq: f.seq,
	})
}

// Open opens a payload of the room's message topic as a receiver does —
// decrypts it, verifies its signature, parses its body — and returns its
// sender and text. It keeps no marks: it is no receiver.
func (f *Forger) Open(payload []byte) (MemberID, string, error) {
	sender, b, err := open(f.aead, f.Topic(), payload)
	return sender, b.Text, err
}
