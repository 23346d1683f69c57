package chatview

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// fakeHostEnv makes the test binary a stand-in window process that
// speaks the protocol in one of these ways:
//
//   - "slow": takes every open, and never shows a window;
//   - "garbage": writes lines that are not events, then opens windows.
const fakeHostEnv = "CHATVIEW_FAKE_HOST"

func TestMain(m *testing.M) {
	if mode := os.Getenv(fakeHostEnv); mode != "" && os.Getenv(HostEnv) != "" {
		fakeHost(mode)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func fakeHost(mode string) {
	out := json.NewEncoder(os.Stdout)
	if mode == "garbage" {
		fmt.Println("not json at all")
		fmt.Println(`{"ev": 42}`)
		fmt.Println(`{"ev":"opened","id":999,"key":"room/forged"}`)
	}
	out.Encode(Event{Ev: EvReady})
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		var c Command
		if json.Unmarshal(sc.Bytes(), &c) != nil || c.Op != OpOpen {
			continue
		}
		out.Encode(Event{Ev: EvAccepted, ID: c.ID, Key: c.Key})
		if mode == "garbage" {
			fmt.Println(strings.Repeat("x", 100))
			out.Encode(Event{Ev: EvOpened, ID: c.ID, Key: c.Key})
		}
	}
}

func fakeManager(t *testing.T, mode string, opt Options) *Manager {
	t.Setenv(fakeHostEnv, mode)
	t.Setenv("DISPLAY", ":999") // never used: there is no real window
	opt.Command = []string{os.Args[0], "-test.run=^$"}
	m := NewManager(opt)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.Close(ctx)
	})
	return m
}

func testURL() string { return "http://127.0.0.1:1/#launch=x" }

// A window that never shows fails its open after the show timeout; the
// window process, which answered, is not taken for hung.
func TestOpenOfAWindowThatNeverShows(t *testing.T) {
	m := fakeManager(t, "slow", Options{ShowTimeout: 300 * time.Millisecond})
	err := m.Open(t.Context(), "room/1", "Room 1", testURL)
	if err == nil || !strings.Contains(err.Error(), "did not show") {
		t.Fatalf("Open: %v, want that the window did not show", err)
	}
	pid := m.PID()
	if pid == 0 {
		t.Fatal("the window process was ended; it answered, it is not hung")
	}
}

// The daemon's stop does not wait for an open in progress.
func TestCloseDoesNotWaitForAnOpen(t *testing.T) {
	m := fakeManager(t, "slow", Options{ShowTimeout: time.Minute})
	opened := make(chan error, 1)
	go func() { opened <- m.Open(context.Background(), "room/1", "Room 1", testURL) }()
	deadline := time.Now().Add(30 * time.Second)
	for m.PID() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the window process did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	m.Close(ctx)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Close took %v with an open in progress", took)
	}
	select {
	case err := <-opened:
		if err == nil {
			t.Error("the open succeeded though its window never showed")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the open still waits after Close")
	}
	if err := m.Open(t.Context(), "room/2", "Room 2", testURL); err == nil {
		t.Error("Open after Close succeeded")
	}
}

// Lines from the window process that are not events, or answer nothing
// asked, change nothing.
func TestWindowProcessGarbage(t *testing.T) {
	m := fakeManager(t, "garbage", Options{})
	if err := m.Open(t.Context(), "room/1", "Room 1", testURL); err != nil {
		t.Fatal(err)
	}
	if got := m.Windows(); len(got) != 1 || got[0] != "room/1" {
		t.Errorf("windows = %v", got)
	}
}

// An open right after the window process was killed starts a new one.
func TestOpenRightAfterAKill(t *testing.T) {
	m := fakeManager(t, "garbage", Options{})
	for i := range 5 {
		key := fmt.Sprintf("room/%d", i)
		if err := m.Open(t.Context(), key, key, testURL); err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if p, err := os.FindProcess(m.PID()); err == nil {
			p.Kill()
		}
	}
}
