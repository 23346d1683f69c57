package rooms

import (
	"testing"
	"time"
)

// After a restart, a message older than the last clean stop (beyond the
// clock-skew window) is a replay: someone recorded it and published it
// again. It is not shown; a message sent while the daemon was down is.
func TestReplayAfterRestartDropped(t *testing.T) {
	key := testKey(t, "tide-amber-4821")
	asha, bilal := fuzzIdentity(t, 1), fuzzIdentity(t, 2)
	fx := newPresenceFixture(t, asha, key)
	stopped := time.Now().Add(-time.Hour)
	fx.r.seenUntil = stopped.UnixMilli()

	send := func(id string, at time.Time) {
		p, err := seal(fx.r.aead, fx.r.topics.messages, bilal, body{Type: typeMessage, ID: id, Name: "Bilal", TS: at.UnixMilli(), Text: id})
		if err != nil {
			t.Fatal(err)
		}
		fx.svc.deliver(fx.r, Packet{Topic: fx.r.topics.messages, Payload: p})
	}
	send("replayed", stopped.Add(-2*replayWindow))
	send("skewed", stopped.Add(-replayWindow/2)) // a sender's clock a little behind
	send("missed", stopped.Add(time.Minute))     // sent while the daemon was down

	var got []string
	for _, m := range fx.r.hist.list() {
		got = append(got, m.ID)
	}
	if len(got) != 2 || got[0] != "skewed" || got[1] != "missed" {
		t.Errorf("history %q, want the skewed and the missed message, not the replay", got)
	}
	if fx.r.rejected != 0 {
		t.Errorf("a replay counted as rejected (%d): it is a valid payload, shown before", fx.r.rejected)
	}
}
