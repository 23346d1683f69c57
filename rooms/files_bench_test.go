package rooms

import (
	"testing"
	"time"
)

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

// BenchmarkSendFile8MiB sends a file of 8 MiB between two Services on the
// in-memory broker: the rooms' own cost (sealing, opening, checking).
func BenchmarkSendFile8MiB(b *testing.B) {
	reg, broker := newMemRegistry(), newMemBroker()
	asha, _ := newTestService(b, "Asha", reg, broker)
	bilal, _ := newTestService(b, "Bilal", reg, broker)
	inv, err := asha.Create(b.Context(), "")
	if err != nil {
		b.Fatal(err)
	}
	if err := bilal.Join(b.Context(), inv.Room, inv.Password); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, MaxFileBytes)
	b.SetBytes(MaxFileBytes)
	for b.Loop() {
		m, err := asha.SendFile(b.Context(), inv.Room, "f.bin", data, "")
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, _, err := bilal.File(inv.Room, m.ID); err == nil {
				break
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
}
