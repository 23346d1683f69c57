package rooms

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// pair is Asha, who created a room, and Bilal, who joined it, on one
// in-memory registry and broker.
type pair struct {
	reg         *memRegistry
	broker      *memBroker
	asha, bilal *Service
	ashaState   *memState
	inv         Invite
}

func newPair(t *testing.T) pair {
	t.Helper()
	p := pair{reg: newMemRegistry(), broker: newMemBroker()}
	p.asha, p.ashaState = newTestService(t, "Asha", p.reg, p.broker)
	p.bilal, _ = newTestService(t, "Bilal", p.reg, p.broker)
	ctx := t.Context()
	var err error
	if p.inv, err = p.asha.Create(ctx, "tide-amber-canopy-4821"); err != nil {
		t.Fatal(err)
	}
	if err := p.bilal.Join(ctx, p.inv.Room, p.inv.Password); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Service{p.asha, p.bilal} {
		waitFor(t, "both members present", func() bool {
			in, err := s.Room(p.inv.Room)
			return err == nil && len(in.Members) == 2
		})
	}
	return p
}

// chat checks that a message of Asha's reaches Bilal.
func (p pair) chat(t *testing.T, text string) {
	t.Helper()
	if _, err := p.asha.Send(t.Context(), p.inv.Room, text); err != nil {
		t.Fatalf("send: %v", err)
	}
	waitFor(t, "Bilal sees "+text, func() bool {
		h, _ := p.bilal.History(p.inv.Room)
		return slices.ContainsFunc(h, func(m Message) bool { return m.Text == text })
	})
}

func (p pair) registryState(t *testing.T, s *Service) string {
	t.Helper()
	in, err := s.Room(p.inv.Room)
	if err != nil {
		t.Fatalf("room dropped: %v", err)
	}
	return in.Registry
}

// Wiping every registry table in the middle of a conversation ends no
// conversation: the members register the room again as they know it, at
// their next heartbeat, and keep their keys.
func TestRegistryWipedConversationGoesOn(t *testing.T) {
	p := newPair(t)
	p.reg.wipe()
	ctx := t.Context()
	p.asha.heartbeat(ctx)
	p.bilal.heartbeat(ctx)
	for _, s := range []*Service{p.asha, p.bilal} {
		if got := p.registryState(t, s); got != RegistryOK {
			t.Errorf("registry state %q, want ok", got)
		}
	}
	_, st, err := p.reg.Lookup(ctx, p.inv.Room)
	if err != nil || st.Members != 2 {
		t.Errorf("registry after the heartbeats: %+v, %v; want the room back with 2 leases", st, err)
	}
	if saved := p.ashaState.saved(); len(saved) != 1 || saved[0].ID != p.inv.Room {
		t.Errorf("state file has %+v, want the room and its key", saved)
	}
	p.chat(t, "still here")
	// And someone new can join it by number again.
	carol, _ := newTestService(t, "Carol", p.reg, p.broker)
	if err := carol.Join(ctx, p.inv.Room, p.inv.Password); err != nil {
		t.Errorf("join after re-registration: %v", err)
	}
}

// When the registry gives the number to another room while members are
// still present over the broker, the room goes on, and the user is told.
func TestRegistryReusedWhileOthersPresent(t *testing.T) {
	p := newPair(t)
	p.reg.wipe()
	mallory, _ := newTestService(t, "Mallory", p.reg, p.broker)
	// Mallory cannot choose the number through the Service; the registry
	// can be told to, as a hostile account with table rights could.
	key, err := DeriveKey("another-password-entirely", NewSalt(), fastKDF)
	if err != nil {
		t.Fatal(err)
	}
	rec := Record{ID: p.inv.Room, Salt: NewSalt(), KDF: fastKDF, Verifier: key.Verifier()}
	if _, err := p.reg.Create(t.Context(), rec, mallory.credentials(key), time.Hour); err != nil {
		t.Fatal(err)
	}
	p.asha.heartbeat(t.Context())
	if got := p.registryState(t, p.asha); got != RegistryReused {
		t.Errorf("registry state %q, want reused", got)
	}
	p.chat(t, "we are still talking")
}

// A room whose number was reused while our lease lapsed, with nobody else
// in it, has ended: it is closed.
func TestRegistryReusedAloneClosed(t *testing.T) {
	p := newPair(t)
	if err := p.bilal.Leave(t.Context(), p.inv.Room); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Bilal gone from Asha's list", func() bool {
		in, _ := p.asha.Room(p.inv.Room)
		return len(in.Members) == 1
	})
	p.reg.wipe()
	key, _ := DeriveKey("another-password-entirely", NewSalt(), fastKDF)
	other, _ := newTestService(t, "Other", p.reg, p.broker)
	if _, err := p.reg.Create(t.Context(), Record{ID: p.inv.Room, Salt: NewSalt(), KDF: fastKDF, Verifier: key.Verifier()}, other.credentials(key), time.Hour); err != nil {
		t.Fatal(err)
	}
	r := p.asha.room(p.inv.Room)
	r.mu.Lock()
	r.attached = time.Now().Add(-2 * time.Hour) // longer than a heartbeat
	r.mu.Unlock()
	p.asha.heartbeat(context.Background())
	if _, err := p.asha.Room(p.inv.Room); err == nil {
		t.Error("a room alone with its number reused is still joined")
	}
}

// A broker client that connects with any client id it can see or guess
// kicks nobody: the ids are keyed by a secret of each member's identity.
func TestClientIDNotFromTopics(t *testing.T) {
	p := newPair(t)
	in, _ := p.asha.Room(p.inv.Room)
	id := p.asha.clientID(p.asha.room(p.inv.Room).key)
	for _, seen := range append(strings.Split(in.Topic, "/"), strings.Split(in.PresenceTopic, "/")...) {
		if id == seen || id == "sunoye-"+seen {
			t.Errorf("client id %q can be read off the topics", id)
		}
	}
	if other := p.bilal.clientID(p.bilal.room(p.inv.Room).key); other == id {
		t.Error("two members share a client id")
	}
}
