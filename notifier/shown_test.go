package notifier

import (
	"slices"
	"testing"

	"github.com/sunoye/sunoye/rooms"
)

// notify runs one Notify call through s: the server answers id at
// position seq.
func (s *shown) notify(room rooms.ID, id uint32, seq uint64) (replaces uint32, count int) {
	replaces, count = s.next(room)
	s.begin()
	s.end(room, id, count, seq)
	return replaces, count
}

// rooms returns the rooms of acts.
func roomsOf(acts []signal) []rooms.ID {
	var r []rooms.ID
	for _, a := range acts {
		r = append(r, a.room)
	}
	return r
}

func TestShownCounts(t *testing.T) {
	var s shown
	if r, n := s.notify("1", 7, 10); r != 0 || n != 1 {
		t.Fatalf("first: replaces %d, count %d", r, n)
	}
	s.notify("2", 8, 11)
	if r, n := s.notify("1", 7, 12); r != 7 || n != 2 {
		t.Errorf("second: replaces %d, count %d; want 7, 2", r, n)
	}
	if acts := s.handle(signal{kind: sigClicked, id: 7, seq: 13}); !slices.Equal(roomsOf(acts), []rooms.ID{"1"}) {
		t.Errorf("click on 7 acts on %v", roomsOf(acts))
	}
	if r, n := s.next("1"); r != 7 || n != 1 {
		t.Errorf("after a click: next %d, %d; want 7 (still on screen), 1", r, n)
	}
	s.notify("1", 9, 14) // the server gave a new id
	if acts := s.handle(signal{kind: sigClicked, id: 7, seq: 15}); len(acts) != 0 {
		t.Error("the replaced id 7 still maps to a room")
	}
	if acts := s.handle(signal{kind: sigClosed, id: 9, seq: 16}); len(acts) != 0 {
		t.Errorf("a close is acted on: %+v", acts)
	}
	if r, n := s.next("1"); r != 0 || n != 1 {
		t.Errorf("after close: next %d, %d; want 0, 1", r, n)
	}
	if r, _ := s.next("2"); r != 8 {
		t.Errorf("room 2 replaces %d, want 8", r)
	}
	s.forget("2")
	if r, _ := s.next("2"); r != 0 {
		t.Errorf("after forget: room 2 replaces %d", r)
	}
	s.notify("2", 10, 18)
	s.reset()
	if r, _ := s.next("2"); r != 0 {
		t.Errorf("after reset: room 2 replaces %d", r)
	}
}

// Signals handled while a Notify call is in flight are applied in their
// order around its reply.
func TestShownSignalsAroundReply(t *testing.T) {
	var s shown
	s.notify("1", 5, 10)

	// The server keeps id 5 when replacing (dunst does); the user closes
	// the new version right after, and the close is handled first.
	_, count := s.next("1")
	s.begin()
	s.handle(signal{kind: sigClosed, id: 5, seq: 21})
	s.end("1", 5, count, 20)
	if r, n := s.next("1"); r != 0 || n != 1 {
		t.Errorf("closed after the reply: next %d, %d; want a fresh notification", r, n)
	}

	// A close sent before the reply closed the old version; the reply
	// put the notification back on screen.
	s.notify("1", 6, 30)
	_, count = s.next("1")
	s.begin()
	s.handle(signal{kind: sigClosed, id: 6, seq: 31})
	s.end("1", 6, count, 32)
	if r, _ := s.next("1"); r != 6 {
		t.Errorf("closed before the reply: next replaces %d, want 6 (on screen again)", r)
	}
	// Handled only after the reply, that close must not close the new version.
	s.handle(signal{kind: sigClosed, id: 6, seq: 31})
	if r, _ := s.next("1"); r != 6 {
		t.Errorf("a late close of the old version closed the new one")
	}

	// Clicks are passed on in the order they were made: one on room 1
	// that was held, the one on the new notification of room 2 that the
	// reply names, then one on room 1 again.
	_, count = s.next("2")
	s.begin()
	if acts := s.handle(signal{kind: sigClicked, id: 6, seq: 40}); len(acts) != 0 {
		t.Errorf("click acted on while a call is in flight: %+v", acts)
	}
	s.handle(signal{kind: sigClicked, id: 44, seq: 42})
	s.handle(signal{kind: sigClicked, id: 6, seq: 43})
	s.handle(signal{kind: sigClicked, id: 4711, seq: 45}) // not ours
	acts := s.end("2", 44, count, 41)
	if got := roomsOf(acts); !slices.Equal(got, []rooms.ID{"1", "2", "1"}) {
		t.Errorf("clicks passed on for rooms %v, want [1 2 1]", got)
	}
	if _, n := s.next("2"); n != 1 {
		t.Errorf("after the click the count is %d, want it restarted", n-1)
	}

	// A failed call passes on what was held.
	s.begin()
	s.handle(signal{kind: sigReplied, id: 44, seq: 50, text: "ok"})
	if acts := s.abort(); len(acts) != 1 || acts[0].room != "2" || acts[0].text != "ok" {
		t.Errorf("after a failed call: %+v", acts)
	}
}
