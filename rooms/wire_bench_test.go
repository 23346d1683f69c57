package rooms

import "testing"

// BenchmarkSeal and BenchmarkOpen are the per-message cost of the wire
// format: JSON, Ed25519 and XChaCha20-Poly1305.
func BenchmarkSeal(b *testing.B) {
	k := testKey(b, "tide-amber-4821")
	aead, tp, id, body := newAEAD(k), topicsFor(k), NewIdentity(), testBody()
	for b.Loop() {
		if _, err := seal(aead, tp.messages, id, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	k := testKey(b, "tide-amber-4821")
	aead, tp := newAEAD(k), topicsFor(k)
	p, err := seal(aead, tp.messages, NewIdentity(), testBody())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := open(aead, tp.messages, p); err != nil {
			b.Fatal(err)
		}
	}
}
