package notifier

import (
	"testing"

	"github.com/sunoye/sunoye/rooms"
)

// A toast's activation arguments come back to the daemon from Windows;
// any program of the user's could send some. Only a well-formed open or a
// reply with text, for a valid room id, is acted on.
func TestParseActivation(t *testing.T) {
	room, err := rooms.ParseID("482913057")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args   string
		inputs map[string]string
		want   activation
		ok     bool
	}{
		{"open:482913057", nil, activation{room: room}, true},
		{"reply:482913057", map[string]string{"reply": "  on my way \n"}, activation{room: room, reply: true, text: "on my way"}, true},
		{"reply:482913057", map[string]string{"reply": "   "}, activation{}, false}, // nothing typed
		{"reply:482913057", nil, activation{}, false},
		{"open:", nil, activation{}, false},
		{"open:../../etc", nil, activation{}, false},
		{"open:482913057 --evil", nil, activation{}, false},
		{"https://example.com", nil, activation{}, false},
		{"", nil, activation{}, false},
	} {
		got, ok := parseActivation(tc.args, tc.inputs)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseActivation(%q, %v) = %+v, %v; want %+v, %v", tc.args, tc.inputs, got, ok, tc.want, tc.ok)
		}
	}
}
