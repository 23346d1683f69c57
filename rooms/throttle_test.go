package rooms

import (
	"errors"
	"testing"
)

func TestThrottle(t *testing.T) {
	s := &Service{failures: make(map[ID]*failures)}
	const room = ID("482913057")
	for i := range freeAttempts {
		if err := s.throttle(room); err != nil {
			t.Fatalf("attempt %d refused: %v", i+1, err)
		}
		s.failed(room)
	}
	if err := s.throttle(room); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("attempt %d: %v, want ErrTooManyAttempts", freeAttempts+1, err)
	}
	if err := s.throttle("123456789"); err != nil {
		t.Errorf("another room is paused too: %v", err)
	}
	s.succeeded(room)
	if err := s.throttle(room); err != nil {
		t.Errorf("after a success: %v", err)
	}
}
