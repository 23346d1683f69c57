package rooms

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testKDF keeps unit tests fast; the real parameters are exercised by
// BenchmarkDeriveKey and the end-to-end tests.
var testKDF = KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

func testKey(t testing.TB, password string) Key {
	t.Helper()
	k, err := DeriveKey(password, []byte("0123456789abcdef"), testKDF)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testBody() body {
	return body{Type: typeMessage, ID: "abc123", Name: "Asha", TS: time.Now().UnixMilli(), Text: "hello <b>world</b>", Run: 1, Seq: 1}
}

func TestSealOpenRoundTrip(t *testing.T) {
	k := testKey(t, "tide-amber-4821")
	tp := topicsFor(k)
	id := NewIdentity()
	want := testBody()
	payload, err := seal(newAEAD(k), tp.messages, id, want)
	if err != nil {
		t.Fatal(err)
	}
	sender, got, err := open(newAEAD(k), tp.messages, payload)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if sender != id.Member() {
		t.Errorf("sender = %s, want %s", sender, id.Member())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("body = %+v, want %+v", got, want)
	}
}

func TestPayloadHidesContent(t *testing.T) {
	k := testKey(t, "tide-amber-4821")
	tp := topicsFor(k)
	payload, err := seal(newAEAD(k), tp.messages, NewIdentity(), testBody())
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"hello", "Asha", "abc123", "msg"} {
		if bytes.Contains(payload, []byte(secret)) {
			t.Errorf("payload contains %q in clear", secret)
		}
	}
	// Two seals of the same body differ: the nonce is random.
	again, _ := seal(newAEAD(k), tp.messages, NewIdentity(), testBody())
	if bytes.Equal(payload[1:25], again[1:25]) {
		t.Error("nonce repeated")
	}
}

func TestOpenRejects(t *testing.T) {
	k := testKey(t, "tide-amber-4821")
	other := testKey(t, "a-different-password")
	tp := topicsFor(k)
	id := NewIdentity()
	good, err := seal(newAEAD(k), tp.messages, id, testBody())
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte { p := bytes.Clone(good); p[i] ^= 1; return p }
	badBody := func(mut func(*body)) []byte {
		b := testBody()
		mut(&b)
		p, err := seal(newAEAD(k), tp.messages, id, b)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	otherTopics := topicsFor(other)
	tests := []struct {
		name    string
		key     Key
		topic   string
		payload []byte
		want    error
	}{
		{"empty", k, tp.messages, nil, errPayloadSize},
		{"truncated", k, tp.messages, good[:40], errPayloadSize},
		{"oversized", k, tp.messages, make([]byte, 1<<20), errPayloadSize},
		{"wrong version", k, tp.messages, append([]byte{2}, good[1:]...), errPayloadVersion},
		{"wrong key", other, otherTopics.messages, good, errPayloadOpen},
		{"moved to another topic", k, tp.presenceOf(id.Member()), good, errPayloadOpen},
		{"flipped ciphertext bit", k, tp.messages, flip(len(good) - 20), errPayloadOpen},
		{"flipped nonce bit", k, tp.messages, flip(3), errPayloadOpen},
		{"plain text", k, tp.messages, []byte(strings.Repeat("Asha->>hello ", 20)), errPayloadVersion},
		{"text too long", k, tp.messages, func() []byte {
			// Sealed by hand: seal itself would refuse nothing here, the
			// receiver must.
			b := testBody()
			b.Text = strings.Repeat("x", MaxTextBytes+1)
			p, _ := seal(newAEAD(k), tp.messages, id, b)
			return p
		}(), errPayloadBody},
		{"no timestamp", k, tp.messages, badBody(func(b *body) { b.TS = 0 }), errPayloadBody},
		{"bad id", k, tp.messages, badBody(func(b *body) { b.ID = "../../etc" }), errPayloadBody},
		{"unknown type", k, tp.messages, badBody(func(b *body) { b.Type = "admin" }), errPayloadBody},
		{"empty name", k, tp.messages, badBody(func(b *body) { b.Name = " " }), errPayloadBody},
		{"empty text", k, tp.messages, badBody(func(b *body) { b.Text = "" }), errPayloadBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := open(newAEAD(tt.key), tt.topic, tt.payload)
			if !errors.Is(err, tt.want) {
				t.Errorf("open = %v, want %v", err, tt.want)
			}
		})
	}
}

// A member who knows the room key still cannot sign as another member:
// swapping in someone else's public key breaks the signature.
func TestOpenRejectsForgedSender(t *testing.T) {
	k := testKey(t, "tide-amber-4821")
	tp := topicsFor(k)
	mallory, victim := NewIdentity(), NewIdentity()
	aead := newAEAD(k)
	payload, err := seal(aead, tp.messages, mallory, testBody())
	if err != nil {
		t.Fatal(err)
	}
	inner, err := aead.Open(nil, payload[1:headerBytes], payload[headerBytes:], additionalData(payload[0], tp.messages))
	if err != nil {
		t.Fatal(err)
	}
	copy(inner, victim.public())
	forged := append(bytes.Clone(payload[:headerBytes]), aead.Seal(nil, payload[1:headerBytes], inner, additionalData(payload[0], tp.messages))...)
	if _, _, err := open(aead, tp.messages, forged); !errors.Is(err, errPayloadSig) {
		t.Fatalf("open forged = %v, want %v", err, errPayloadSig)
	}
}

func FuzzOpen(f *testing.F) {
	k := testKey(f, "tide-amber-4821")
	tp := topicsFor(k)
	good, err := seal(newAEAD(k), tp.messages, NewIdentity(), testBody())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte("Asha->>hello"))
	f.Add(append([]byte{1}, make([]byte, 200)...))
	aead := newAEAD(k)
	f.Fuzz(func(t *testing.T, payload []byte) {
		sender, b, err := open(aead, tp.messages, payload)
		if err == nil && (sender == "" || b.validate() != nil) {
			t.Fatalf("accepted invalid payload: %q %+v", sender, b)
		}
	})
}
