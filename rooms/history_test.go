package rooms

import (
	"fmt"
	"testing"
)

func TestHistoryBounded(t *testing.T) {
	h := newHistory(3)
	for i := range 5 {
		h.add(Message{ID: fmt.Sprint(i)})
	}
	got := h.list()
	if len(got) != 3 || got[0].ID != "2" || got[2].ID != "4" {
		t.Errorf("history = %v, want the last three in order", got)
	}
}

func TestSeenSet(t *testing.T) {
	s := newSeenSet(2)
	if !s.add("a") || s.add("a") {
		t.Fatal("a: first add must be new, second a duplicate")
	}
	s.add("b")
	s.add("c") // evicts a
	if !s.add("a") {
		t.Error("oldest id not forgotten at the bound")
	}
	if s.add("c") {
		t.Error("recent id forgotten")
	}
	s.forget("c")
	if !s.add("c") {
		t.Error("forget did not forget")
	}
	if len(s.ids) > 2 {
		t.Errorf("seen set grew to %d past its bound", len(s.ids))
	}
}
