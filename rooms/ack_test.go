package rooms

import (
	"sync/atomic"
	"testing"
	"time"
)

// blockingState is a StateStore whose writes wait for release: a disk
// that is slow, or a daemon that stops or crashes in the middle.
type blockingState struct {
	memState
	writes  chan []SavedRoom
	release chan struct{}
}

func (b *blockingState) SaveRooms(rs []SavedRoom) error {
	b.writes <- rs
	<-b.release
	return b.memState.SaveRooms(rs)
}

// The acknowledgement rules: a message is acknowledged to the broker (its
// handled called) only once its mark is on disk and it is shown; a message
// only admitted when the daemon stops or crashes is neither acknowledged
// nor in the saved marks, so that it is shown when the broker sends it
// again.
func TestAckAfterHandling(t *testing.T) {
	fx := newReplayFixture(t)
	st := &blockingState{writes: make(chan []SavedRoom, 1), release: make(chan struct{})}
	fx.svc.store = st
	fx.svc.rooms[fx.r.id] = fx.r // so that its marks are saved
	var acked atomic.Int32
	now := time.Now()
	fx.svc.deliver(fx.r, fx.message("one", 7, 1, now), func() { acked.Add(1) })
	first := <-st.writes // the write before "one" shows
	fx.svc.deliver(fx.r, fx.message("two", 7, 2, now), func() { acked.Add(1) })
	if n := acked.Load(); n != 0 {
		t.Errorf("%d acknowledged before their marks were written", n)
	}
	if mk := marksOf(first, fx.bilal.Member()); mk.Seq != 1 {
		t.Errorf("the write for message 1 holds mark %+v", mk)
	}
	// Message 2 is admitted, not shown: any write now (another room's
	// batch, a presence) must not mark it, or a crash now would hide it
	// when the broker sends it again.
	if mk := fx.r.saved().Marks[fx.bilal.Member()]; mk.Seq != 1 {
		t.Errorf("while message 2 waits to be shown, the state file would get mark %+v", mk)
	}
	close(st.release)
	waitFor(t, "both acknowledged", func() bool { return acked.Load() == 2 })
	fx.want("one", "two")

	// Replays and rejects are handled at once.
	fx.svc.deliver(fx.r, fx.message("one", 7, 1, now), func() { acked.Add(1) })
	fx.svc.deliver(fx.r, Packet{Topic: fx.r.topics.messages, Payload: []byte("garbage")}, func() { acked.Add(1) })
	if n := acked.Load(); n != 4 {
		t.Errorf("acknowledged %d, want 4", n)
	}
}

func marksOf(rs []SavedRoom, m MemberID) Mark {
	for _, r := range rs {
		if mk, ok := r.Marks[m]; ok {
			return mk
		}
	}
	return Mark{}
}
