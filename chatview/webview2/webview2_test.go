package webview2

import "testing"

func TestUsable(t *testing.T) {
	for pv, want := range map[string]bool{"": false, "0.0.0.0": false, "131.0.2903.70": true} {
		if got := usable(pv); got != want {
			t.Errorf("usable(%q) = %v, want %v", pv, got, want)
		}
	}
}
