package testenv

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// LogBuffer collects what a logger writes, for a test to read while the
// code under test goes on writing.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Count returns how many of the lines written so far contain s.
func (b *LogBuffer) Count(s string) int {
	n := 0
	for line := range strings.Lines(b.String()) {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

// NewLogger returns a logger of every level, as text, into a new
// LogBuffer.
func NewLogger() (*slog.Logger, *LogBuffer) {
	b := new(LogBuffer)
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// TestLog returns a writer into tb's log, so that what the code under test
// logs shows with the test that made it, and only when it fails or runs
// with -v. For a benchmark it discards: its log would be timed too.
//
// Only for code that stops logging when its test ends: tb.Log panics
// after that.
func TestLog(tb testing.TB) io.Writer {
	if _, bench := tb.(*testing.B); bench {
		return io.Discard
	}
	return tbWriter{tb}
}

// TestLogger returns a logger of every level into TestLog(tb).
func TestLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(TestLog(tb), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
