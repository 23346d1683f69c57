package rooms

import "testing"

// BenchmarkPieceSealOpen seals and opens one full piece of a file.
func BenchmarkPieceSealOpen(b *testing.B) {
	k := testKey(b, "tide-amber-4821")
	tp := topicsFor(k)
	id := NewIdentity()
	a := newAEAD(k)
	data := make([]byte, pieceBytes)
	b.SetBytes(pieceBytes)
	for b.Loop() {
		p, err := seal(a, tp.messages, id, body{Type: typePiece, ID: "abc", Name: "A", TS: 1, Piece: &filePiece{Index: 1, Data: data}})
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := open(a, tp.messages, p); err != nil {
			b.Fatal(err)
		}
	}
}
