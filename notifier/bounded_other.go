//go:build !(linux || freebsd || netbsd || openbsd || dragonfly)

package notifier

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/sunoye/sunoye/rooms"
)

// showBounded runs show, which cannot be cancelled (beeep, toasts), and
// returns within timeout (or ctx) whatever it does. busy is set while a
// call runs: a call that hangs is left behind, and no second one is
// started beside it. st records whether notifications work.
func showBounded(ctx context.Context, busy *atomic.Bool, st *status, timeout time.Duration, room rooms.ID, show func() error) error {
	if !busy.CompareAndSwap(false, true) {
		return fmt.Errorf("notify room %s: %w: the previous notification has not returned", room, ErrUnavailable)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer busy.Store(false)
		done <- show()
	}()
	select {
	case err := <-done:
		if err != nil {
			st.off(condFailing, "err", err)
			return fmt.Errorf("notify room %s: %w: %w", room, ErrUnavailable, err)
		}
		st.on()
		return nil
	case <-ctx.Done():
		st.off(condNoAnswer, "timeout", timeout)
		return fmt.Errorf("notify room %s: %w: %w", room, ErrUnavailable, ctx.Err())
	}
}
