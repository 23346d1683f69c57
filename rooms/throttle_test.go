package rooms

import (
	"errors"
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	s := &Service{failures: make(map[ID]*failures)}
	const room = ID("482913057")
	for i := range freeAttempts {
		done, err := s.throttle(room)
		if err != nil {
			t.Fatalf("attempt %d refused: %v", i+1, err)
		}
		s.failed(room)
		done()
	}
	if _, err := s.throttle(room); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("attempt %d: %v, want ErrTooManyAttempts", freeAttempts+1, err)
	}
	if _, err := s.throttle("123456789"); err != nil {
		t.Errorf("another room is paused too: %v", err)
	}
	// When the pause is over, one attempt at a time goes through.
	s.failures[room].until = time.Now()
	done, err := s.throttle(room)
	if err != nil {
		t.Fatalf("after the pause: %v", err)
	}
	if _, err := s.throttle(room); !errors.Is(err, ErrTooManyAttempts) {
		t.Errorf("a second attempt while one is checked: %v, want ErrTooManyAttempts", err)
	}
	done()
	s.succeeded(room)
	if _, err := s.throttle(room); err != nil {
		t.Errorf("after a success: %v", err)
	}
}

type memAttempts struct{ saved []FailedJoins }

func (m *memAttempts) FailedJoins() []FailedJoins { return m.saved }

func (m *memAttempts) SaveFailedJoins(f []FailedJoins) error {
	m.saved = append([]FailedJoins(nil), f...)
	return nil
}

// A Service built on the records another one saved resumes its pauses;
// a success clears the saved record; records past failureMemory, and
// garbage, are not loaded.
func TestThrottleSurvivesRestart(t *testing.T) {
	store := &memAttempts{}
	s := &Service{cfg: Config{Attempts: store}, failures: loadFailures(store)}
	const room = ID("482913057")
	for range freeAttempts {
		s.failed(room)
	}
	if len(store.saved) != 1 || store.saved[0].Count != freeAttempts || store.saved[0].Until.IsZero() {
		t.Fatalf("saved %+v", store.saved)
	}
	// Pause for longer than a test takes, as later failures would.
	store.saved[0].Until = time.Now().Add(time.Minute)
	store.saved = append(store.saved,
		FailedJoins{Room: "123456789", Count: 9, Last: time.Now().Add(-failureMemory - time.Minute), Until: time.Now().Add(time.Minute)},
		FailedJoins{Room: "../etc", Count: 9, Last: time.Now(), Until: time.Now().Add(time.Minute)})

	again := &Service{cfg: Config{Attempts: store}, failures: loadFailures(store)}
	if _, err := again.throttle(room); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("after a restart: %v, want ErrTooManyAttempts", err)
	}
	if len(again.failures) != 1 {
		t.Errorf("loaded %d records, want only the live one", len(again.failures))
	}
	if n := again.failed(room); n != freeAttempts+1 {
		t.Errorf("the count went on at %d, want %d", n, freeAttempts+1)
	}
	again.succeeded(room)
	if len(store.saved) != 0 {
		t.Errorf("after a success the store keeps %+v", store.saved)
	}
}
