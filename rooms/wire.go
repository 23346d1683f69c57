package rooms

import (
	"bytes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"golang.org/x/crypto/chacha20poly1305"
)

// The wire format of every payload SunOye publishes (docs/protocol.md):
//
//	payload = version(1) | nonce(24) | XChaCha20-Poly1305(message key, nonce, inner, aad = version | topic)
//	inner   = public key(32) | signature(64) | body (JSON)
//
// except that a file's piece has its bytes after its body, outside the
// signature, which covers their SHA-256 in the body: inner = public key |
// signature | body (JSON) | 0x00 | bytes.
//
// The signature is Ed25519 over sigContext | topic | 0 | body, by the
// sender's identity; the sender's member id is derived from the public key.
// Binding the topic into both the AEAD and the signature means a payload
// cannot be moved to another room or from the message topic to a presence
// topic.
const (
	wireVersion = 1
	// MaxPayloadBytes bounds what a receiver even tries to open: a text of
	// MaxTextBytes, a name and the framing fit with room to spare, even
	// with every character of the text escaped in JSON (six bytes for one).
	MaxPayloadBytes = 32 * 1024
	// olderPayloadBytes was MaxPayloadBytes before batches: a member whose
	// SunOye predates them drops anything larger, so a message for a room
	// with such a member (see room.batching) must stay within it.
	olderPayloadBytes = 16 * 1024
	// MaxNameRunes bounds display names.
	MaxNameRunes = 64
	sigContext   = "sunoye/v1 sig\x00"
	headerBytes  = 1 + chacha20poly1305.NonceSizeX
	innerHeader  = ed25519.PublicKeySize + ed25519.SignatureSize
)

// Body types.
const (
	typeMessage  = "msg"
	typePresence = "presence"
	typeFile     = "file"  // a file's header: a message (see files.go)
	typePiece    = "piece" // a piece of a file
	typeTyping   = "typing"
	typeBatch    = "batch" // messages sent together (see batch.go)
	typeWant     = "want"  // a file's missing pieces asked for (see filewant.go)
)

// body is the signed, encrypted JSON inside a payload.
type body struct {
	Type  string `json:"type"`
	ID    string `json:"id,omitempty"`
	Name  string `json:"name"`
	TS    int64  `json:"ts"` // unix milliseconds, sender's clock
	Text  string `json:"text,omitempty"`
	State string `json:"state,omitempty"`
	// Run and Seq place a message in its sender's sequence (see Mark); in
	// a presence, they say how far the sender's messages have gone.
	Run uint64 `json:"run,omitempty"`
	Seq uint64 `json:"seq,omitempty"`
	// Ask, in a presence, asks the other members to announce themselves
	// again: the sender has just joined or reconnected.
	Ask bool `json:"ask,omitempty"`
	// File, in a file's header, describes the file; Piece is a piece of
	// it (whose ID is its file's).
	File  *fileMeta  `json:"file,omitempty"`
	Piece *filePiece `json:"piece,omitempty"`
	// Want, in a want, are the pieces of file ID asked for again.
	Want []int `json:"want,omitempty"`
	// Batches, in a presence, says that the sender opens batches.
	Batches bool `json:"batches,omitempty"`
	// Msgs, in a batch, are its messages' bodies, in their sender's
	// order; opened, they are in batch.
	Msgs  []json.RawMessage `json:"msgs,omitempty"`
	batch []body
}

// Reasons a payload is rejected; the Service counts them per room.
var (
	errPayloadSize    = errors.New("payload size out of bounds")
	errPayloadVersion = errors.New("unknown payload version")
	errPayloadOpen    = errors.New("payload does not open with the room key")
	errPayloadSig     = errors.New("bad sender signature")
	errPayloadBody    = errors.New("malformed body")
)

func newAEAD(k Key) cipher.AEAD {
	a, err := chacha20poly1305.NewX(k.messageKey())
	if err != nil {
		panic("rooms: chacha20poly1305: " + err.Error()) // only for a wrong key size
	}
	return a
}

// seal signs and encrypts b for topic.
func seal(aead cipher.AEAD, topic string, id Identity, b body) ([]byte, error) {
	var raw []byte
	if b.Piece != nil {
		// A piece's bytes follow its JSON raw, after a NUL (which JSON
		// text never holds): no base64, no JSON scanning of 160 KiB. The
		// signed JSON binds them by their SHA-256: one pass of SHA-256
		// rather than Ed25519's two of SHA-512 over them.
		p := *b.Piece
		p.SHA256 = pieceSum(p.Data)
		b.Piece, raw = &p, p.Data
	}
	js, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode body: %w", err)
	}
	inner := make([]byte, 0, innerHeader+len(js)+1+len(raw))
	inner = append(inner, id.public()...)
	inner = append(inner, ed25519.Sign(id.priv, signed(topic, js))...)
	inner = append(inner, js...)
	if raw != nil {
		inner = append(append(inner, 0), raw...)
	}

	out := make([]byte, headerBytes, headerBytes+len(inner)+aead.Overhead())
	out[0] = wireVersion
	if _, err := rand.Read(out[1:headerBytes]); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	out = aead.Seal(out, out[1:headerBytes], inner, additionalData(out[0], topic))
	if len(out) > payloadLimit(b.Type) {
		return nil, fmt.Errorf("%w: %d bytes", errPayloadSize, len(out))
	}
	return out, nil
}

// additionalData binds the version byte and the topic into the AEAD: a
// payload cannot be moved to another room or topic, nor its version byte
// changed.
func additionalData(version byte, topic string) []byte {
	return append([]byte{version}, topic...)
}

func signed(topic string, js []byte) []byte {
	m := make([]byte, 0, len(sigContext)+len(topic)+1+len(js))
	m = append(m, sigContext...)
	m = append(m, topic...)
	m = append(m, 0)
	return append(m, js...)
}

// open decrypts and checks a payload received on topic, returning its
// sender and body. It never panics on hostile input.
func open(aead cipher.AEAD, topic string, payload []byte) (MemberID, body, error) {
	if len(payload) < headerBytes+aead.Overhead()+innerHeader || len(payload) > maxPiecePayload {
		return "", body{}, fmt.Errorf("%w: %d bytes", errPayloadSize, len(payload))
	}
	if payload[0] != wireVersion {
		return "", body{}, fmt.Errorf("%w %d", errPayloadVersion, payload[0])
	}
	inner, err := aead.Open(nil, payload[1:headerBytes], payload[headerBytes:], additionalData(payload[0], topic))
	if err != nil {
		return "", body{}, errPayloadOpen
	}
	pub := ed25519.PublicKey(inner[:ed25519.PublicKeySize])
	sig := inner[ed25519.PublicKeySize:innerHeader]
	js, raw, hasRaw := bytes.Cut(inner[innerHeader:], []byte{0})
	if !ed25519.Verify(pub, signed(topic, js), sig) {
		return "", body{}, errPayloadSig
	}
	var b body
	if err := json.Unmarshal(js, &b); err != nil {
		return "", body{}, fmt.Errorf("%w: %v", errPayloadBody, err)
	}
	if hasRaw {
		if b.Type != typePiece || b.Piece == nil {
			return "", body{}, fmt.Errorf("%w: bytes after the body of a %s", errPayloadBody, b.Type)
		}
		if pieceSum(raw) != b.Piece.SHA256 {
			return "", body{}, fmt.Errorf("%w: a piece's bytes do not match their signed hash", errPayloadSig)
		}
		b.Piece.Data = raw
	}
	if err := b.validate(); err != nil {
		return "", body{}, fmt.Errorf("%w: %v", errPayloadBody, err)
	}
	if b.Type != typeBatch && b.Msgs != nil || b.Type != typeWant && b.Want != nil {
		return "", body{}, fmt.Errorf("%w: a batch's or a want's field in a %s", errPayloadBody, b.Type)
	}
	if b.Type == typeBatch {
		if b.batch, err = openBatch(b.Msgs); err != nil {
			return "", body{}, fmt.Errorf("%w: %v", errPayloadBody, err)
		}
		b.Msgs = nil
	}
	if len(payload) > payloadLimit(b.Type) {
		return "", body{}, fmt.Errorf("%w: %d bytes for a %s", errPayloadSize, len(payload), b.Type)
	}
	return memberOf(pub), b, nil
}

// payloadLimit is the largest payload of a body of type t: only a file's
// pieces exceed MaxPayloadBytes.
func payloadLimit(t string) int {
	if t == typePiece {
		return maxPiecePayload
	}
	return MaxPayloadBytes
}

// validate applies to received bodies the limits that senders obey.
func (b body) validate() error {
	if b.TS <= 0 {
		return errors.New("no timestamp")
	}
	if err := CheckName(b.Name); err != nil {
		return err
	}
	switch b.Type {
	case typeMessage:
		if !validMessageID(b.ID) {
			return errors.New("bad message id")
		}
		if b.Run == 0 || b.Seq == 0 {
			return errors.New("no sequence number")
		}
		return CheckText(b.Text)
	case typeFile:
		if !validMessageID(b.ID) {
			return errors.New("bad message id")
		}
		if b.Run == 0 || b.Seq == 0 {
			return errors.New("no sequence number")
		}
		if b.File == nil {
			return errors.New("file header without a file")
		}
		if b.Text != "" {
			if err := CheckText(b.Text); err != nil {
				return err
			}
		}
		return b.File.validate()
	case typePiece:
		if !validMessageID(b.ID) {
			return errors.New("bad file id")
		}
		if p := b.Piece; p == nil || p.Index < 0 || p.Index >= maxPieces || len(p.Data) == 0 || len(p.Data) > pieceBytes {
			return errors.New("piece out of bounds")
		}
		return nil
	case typePresence:
		if b.State != "online" {
			return fmt.Errorf("unknown presence state %q", b.State)
		}
		return nil
	case typeTyping:
		if b.ID != "" || b.Text != "" {
			return errors.New("a typing signal carries no message")
		}
		return nil
	case typeWant:
		if !validMessageID(b.ID) {
			return errors.New("bad file id")
		}
		if b.Text != "" || b.Run != 0 || b.Seq != 0 || b.File != nil || b.Piece != nil {
			return errors.New("a want carries only the pieces it asks for")
		}
		if len(b.Want) == 0 || len(b.Want) > maxPieces {
			return fmt.Errorf("a want of %d pieces", len(b.Want))
		}
		for _, i := range b.Want {
			if i < 0 || i >= maxPieces {
				return fmt.Errorf("a want of piece %d", i)
			}
		}
		return nil
	case typeBatch:
		if b.ID != "" || b.Text != "" || b.Run != 0 || b.Seq != 0 || b.File != nil || b.Piece != nil {
			return errors.New("a batch carries only its messages")
		}
		if len(b.Msgs) < 2 || len(b.Msgs) > maxBatch {
			return fmt.Errorf("a batch of %d messages", len(b.Msgs))
		}
		return nil
	default:
		return fmt.Errorf("unknown body type %q", b.Type)
	}
}

func validMessageID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// CheckText reports whether text can be sent as a message.
func CheckText(text string) error {
	switch {
	case !utf8.ValidString(text):
		return fmt.Errorf("%w: message is not valid UTF-8", ErrInvalid)
	case len(text) > MaxTextBytes:
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooLong, len(text), MaxTextBytes)
	case isBlank(text):
		return ErrEmpty
	}
	return nil
}

// CheckName reports whether name can be a display name.
func CheckName(name string) error {
	switch {
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: display name is not valid UTF-8", ErrInvalid)
	case isBlank(name):
		return fmt.Errorf("%w: display name is empty", ErrInvalid)
	case utf8.RuneCountInString(name) > MaxNameRunes:
		return fmt.Errorf("%w: display name longer than %d characters", ErrInvalid, MaxNameRunes)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: display name contains control characters", ErrInvalid)
		}
	}
	return nil
}

func isBlank(s string) bool {
	for _, r := range s {
		switch r {
		case ' ', '\t', '\n', '\r', '\u00a0', '\u200b':
		default:
			return false
		}
	}
	return true
}
