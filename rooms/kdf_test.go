package rooms

import (
	"bytes"
	"testing"
)

func TestKeyDerivation(t *testing.T) {
	salt := []byte("0123456789abcdef")
	a, err := DeriveKey("tide-amber-4821", salt, testKDF)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := DeriveKey("tide-amber-4821", salt, testKDF)
	c, _ := DeriveKey("tide-amber-4822", salt, testKDF)
	d, _ := DeriveKey("tide-amber-4821", []byte("fedcba9876543210"), testKDF)
	if a != b {
		t.Error("same password and salt gave different keys")
	}
	if a == c || a == d {
		t.Error("different password or salt gave the same key")
	}
	if !a.Verify(b.Verifier()) || a.Verify(c.Verifier()) {
		t.Error("verifier does not tell keys apart")
	}
	if bytes.Equal(a.Verifier(), a.messageKey()) || topicsFor(a).messages == topicsFor(d).messages || topicsFor(a).memberTag("m") == topicsFor(d).memberTag("m") {
		t.Error("subkeys are not independent")
	}
	restored, err := KeyFromBytes(a.Bytes())
	if err != nil || restored != a {
		t.Errorf("KeyFromBytes(Bytes()) = %v, %v", restored, err)
	}
}

func TestKDFParamsBounded(t *testing.T) {
	for _, p := range []KDFParams{
		{Time: 0, MemoryKiB: 65536, Threads: 1},
		{Time: 3, MemoryKiB: 1 << 30, Threads: 1}, // a hostile registry row: a terabyte
		{Time: 1 << 20, MemoryKiB: 65536, Threads: 1},
		{Time: 3, MemoryKiB: 65536, Threads: 0},
		{Time: 16, MemoryKiB: 256 << 10, Threads: 1}, // each within bounds, together minutes
		{Time: 1, MemoryKiB: 1 << 20, Threads: 1},    // a gibibyte
	} {
		if _, err := DeriveKey("password", []byte("0123456789abcdef"), p); err == nil {
			t.Errorf("DeriveKey accepted %+v", p)
		}
	}
	if err := DefaultKDF.Validate(); err != nil {
		t.Errorf("DefaultKDF: %v", err)
	}
}

func BenchmarkDeriveKey(b *testing.B) {
	salt := NewSalt()
	for b.Loop() {
		if _, err := DeriveKey("tide-amber-canopy-mellow-4821", salt, DefaultKDF); err != nil {
			b.Fatal(err)
		}
	}
}
