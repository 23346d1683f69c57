package rooms

import (
	"bytes"
	"io"
	"log/slog"
	"maps"
	"slices"
	"testing"
)

// The presence decoder: what a Service does with a packet on one of a
// room's presence topics (sunoye/v1/<tag>/p/<member tag>). FuzzOpen covers
// the envelope alone; this covers the rest of the path a presence takes —
// the topic parsed for its member tag, the empty payload of a Last Will, the
// body type, and the binding of the topic's member to the key that
// signed — through Service.deliver itself, on a Service wired to nothing:
// delivering a presence touches neither the registry nor the broker (the
// room is not among the Service's joined rooms, so nothing is announced
// back).

// fuzzIdentity makes the identities below the same in every run, so that
// the checked-in corpus (testdata/fuzz/FuzzPresence) keeps meaning what it
// meant when it was written: a payload sealed by Bilal stays Bilal's.
func fuzzIdentity(t testing.TB, seed byte) Identity {
	t.Helper()
	id, err := IdentityFromSeed(bytes.Repeat([]byte{seed}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// presenceFixture is a room as Asha's Service holds it, with only herself
// present.
type presenceFixture struct {
	svc *Service
	r   *room
}

func newPresenceFixture(t testing.TB, asha Identity, key Key) presenceFixture {
	t.Helper()
	svc, err := NewService(Config{Identity: asha, Name: "Asha", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := newRoom("482913057", 1, key, 10)
	r.members[asha.Member()] = "Asha"
	return presenceFixture{svc: svc, r: r}
}

func sealPresence(t testing.TB, key Key, topic string, id Identity, b body) []byte {
	t.Helper()
	p, err := seal(newAEAD(key), topic, id, b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func presenceBody(name string) body {
	return body{Type: typePresence, Name: name, TS: 1764111349123, State: "online"}
}

// presenceSeeds are the cases worth starting from: valid announcements,
// and each way one can be wrong while still opening with the room key.
func presenceSeeds(t testing.TB, key Key, asha, bilal Identity) []struct {
	level   string
	payload []byte
} {
	tp := topicsFor(key)
	at := tp.presenceOf(bilal.Member())
	msg := body{Type: typeMessage, ID: "abc123", Name: "Bilal", TS: 1764111349123, Text: "hello", Run: 1, Seq: 1}
	return []struct {
		level   string
		payload []byte
	}{
		{tp.memberTag(bilal.Member()), sealPresence(t, key, at, bilal, presenceBody("Bilal"))},
		{tp.memberTag(bilal.Member()), sealPresence(t, key, at, bilal, presenceBody("Bilal 🙂 بلال\u200b"))},
		// Signed by Bilal for Asha's topic: Bilal claiming to be Asha.
		{tp.memberTag(asha.Member()), sealPresence(t, key, tp.presenceOf(asha.Member()), bilal, presenceBody("Asha"))},
		// Asha's own announcement, echoed back.
		{tp.memberTag(asha.Member()), sealPresence(t, key, tp.presenceOf(asha.Member()), asha, presenceBody("Asha"))},
		// Bilal's valid payload moved to another member's topic.
		{tp.memberTag(asha.Member()), sealPresence(t, key, at, bilal, presenceBody("Bilal"))},
		{"aaaaaaaaaaaaaaaaaaaaaaaa", sealPresence(t, key, at, bilal, presenceBody("Bilal"))},
		// A message body on a presence topic, and a message payload moved
		// there from the message topic.
		{tp.memberTag(bilal.Member()), sealPresence(t, key, at, bilal, msg)},
		{tp.memberTag(bilal.Member()), sealPresence(t, key, tp.messages, bilal, msg)},
		{tp.memberTag(bilal.Member()), sealPresence(t, key, at, bilal, body{Type: typePresence, Name: "Bilal", TS: 1, State: "away"})},
		{tp.memberTag(bilal.Member()), sealPresence(t, key, at, bilal, body{Type: typePresence, Name: "\x1b[31mBilal", TS: 1, State: "online"})},
		{tp.memberTag(bilal.Member()), sealPresence(t, key, at, bilal, body{Type: typePresence, Name: "Bilal", State: "online"})},
		// Last Wills: empty payloads, for another member and for Asha.
		{tp.memberTag(bilal.Member()), nil},
		{tp.memberTag(asha.Member()), nil},
		// Topics that name no member.
		{"", sealPresence(t, key, tp.presence, bilal, presenceBody("Bilal"))},
		{tp.memberTag(bilal.Member()) + "/x", sealPresence(t, key, at+"/x", bilal, presenceBody("Bilal"))},
		{"+", []byte("Mallory is here")},
		{tp.memberTag(bilal.Member()), []byte("\xff\xfe not UTF-8 \xc3\x28")},
		{tp.memberTag(bilal.Member()), append([]byte{2}, make([]byte, 200)...)},
	}
}

func FuzzPresence(f *testing.F) {
	key := testKey(f, "tide-amber-4821")
	asha, bilal := fuzzIdentity(f, 1), fuzzIdentity(f, 2)
	for _, s := range presenceSeeds(f, key, asha, bilal) {
		f.Add(s.level, s.payload)
	}
	aead := newAEAD(key)
	f.Fuzz(func(t *testing.T, level string, payload []byte) {
		fx := newPresenceFixture(t, asha, key)
		topic := fx.r.topics.presence + level
		before := maps.Clone(fx.r.members)

		fx.svc.deliverNow(fx.r, Packet{Topic: topic, Payload: payload, Retained: true})

		after, rejected := fx.r.members, fx.r.rejected
		if len(fx.r.hist.list()) != 0 || fx.r.unread != 0 {
			t.Fatalf("a presence packet reached the history: %+v", fx.r.hist.list())
		}
		// What the packet is, judged independently of deliver.
		tag, named := fx.r.topics.tagOfPresence(topic)
		sender, b, err := open(aead, topic, payload)
		valid := named && err == nil && b.Type == typePresence && fx.r.topics.memberTag(sender) == tag
		switch {
		case !named:
			if rejected != 1 || !maps.Equal(after, before) {
				t.Fatalf("topic %q names no member, yet rejected=%d, members %v", topic, rejected, after)
			}
		case len(payload) == 0:
			// A Last Will: the member with that tag leaves; never Asha, who
			// is here — and nobody else is in the fixture's list.
			if rejected != 0 || !maps.Equal(after, before) {
				t.Fatalf("empty presence on %s: rejected=%d, members %v, want %v", tag, rejected, after, before)
			}
		case valid:
			want := maps.Clone(before)
			want[sender] = b.Name
			if rejected != 0 || !maps.Equal(after, want) {
				t.Fatalf("valid presence of %s refused: rejected=%d, members %v", sender, rejected, after)
			}
		default:
			// Anything else changes nothing and is counted: in particular a
			// payload signed by one member on another member's topic.
			if rejected != 1 || !maps.Equal(after, before) {
				t.Fatalf("invalid presence on %q (open: %v, sender %s) accepted: rejected=%d, members %v", topic, err, sender, rejected, after)
			}
		}
		// Whatever got in passed the checks a sender obeys.
		for m, name := range after {
			if CheckName(name) != nil || len(m) != 24 {
				t.Fatalf("member %q named %q got in", m, name)
			}
		}
	})
}

// The presence rules, case by case, as a user would see them in the
// member list.
func TestPresenceRules(t *testing.T) {
	key := testKey(t, "tide-amber-4821")
	asha, bilal := fuzzIdentity(t, 1), fuzzIdentity(t, 2)
	tp := topicsFor(key)
	at := tp.presenceOf(bilal.Member())
	tests := []struct {
		name     string
		topic    string
		payload  []byte
		members  []string // names in the list afterwards, Asha's first
		rejected uint64
	}{
		{"Bilal announces himself", at, sealPresence(t, key, at, bilal, presenceBody("Bilal")), []string{"Asha", "Bilal"}, 0},
		{"Bilal on Asha's topic", tp.presenceOf(asha.Member()), sealPresence(t, key, tp.presenceOf(asha.Member()), bilal, presenceBody("Not Asha")), []string{"Asha"}, 1},
		{"Bilal's payload moved to Asha's topic", tp.presenceOf(asha.Member()), sealPresence(t, key, at, bilal, presenceBody("Bilal")), []string{"Asha"}, 1},
		{"message body on a presence topic", at, sealPresence(t, key, at, bilal, body{Type: typeMessage, ID: "x1", Name: "Bilal", TS: 1, Text: "hi"}), []string{"Asha"}, 1},
		{"unknown state", at, sealPresence(t, key, at, bilal, body{Type: typePresence, Name: "Bilal", TS: 1, State: "away"}), []string{"Asha"}, 1},
		{"a Will for Asha, who is here", tp.presenceOf(asha.Member()), nil, []string{"Asha"}, 0},
		{"a topic below a member", at + "/x", sealPresence(t, key, at+"/x", bilal, presenceBody("Bilal")), []string{"Asha"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newPresenceFixture(t, asha, key)
			fx.svc.deliverNow(fx.r, Packet{Topic: tt.topic, Payload: tt.payload, Retained: true})
			var names []string
			for _, m := range fx.r.info(asha.Member()).Members {
				if m.Self {
					names = append([]string{m.Name}, names...)
				} else {
					names = append(names, m.Name)
				}
			}
			if !slices.Equal(names, tt.members) || fx.r.rejected != tt.rejected {
				t.Errorf("members %q, rejected %d; want %q, %d", names, fx.r.rejected, tt.members, tt.rejected)
			}
		})
	}

}
