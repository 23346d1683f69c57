package tray

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/roomstest"
	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
)

// leaveOpener records the rooms the tray asked to confirm leaving.
type leaveOpener struct{ asked chan rooms.ID }

func (o *leaveOpener) OpenRoom(rooms.ID) error     { return nil }
func (o *leaveOpener) OpenCreate() error           { return nil }
func (o *leaveOpener) OpenJoin() error             { return nil }
func (o *leaveOpener) OpenSettings() error         { return nil }
func (o *leaveOpener) OpenLeave(id rooms.ID) error { o.asked <- id; return nil }

// Leave leaves a room that another member keeps open at once; for a room
// that leaving would close it asks first, in the room's window, and
// leaves nothing itself; with no window to ask in, it does not leave and
// says so.
func TestLeaveAsksBeforeClosingTheRoom(t *testing.T) {
	broker, dsn := roomstest.StartBroker(t), "sqlite://"+filepath.Join(t.TempDir(), "r.db")
	asha := roomstest.NewService(t, roomstest.Config{Name: "Asha", Broker: broker, DB: dsn})
	bilal := roomstest.NewService(t, roomstest.Config{Name: "Bilal", Broker: broker, DB: dsn})
	create := func() rooms.Invite {
		t.Helper()
		inv, err := asha.Create(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		return inv
	}
	shared, alone, alsoAlone := create(), create(), create()
	if err := bilal.Join(t.Context(), shared.Room, shared.Password); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for in, _ := asha.Room(shared.Room); len(in.Members) != 2; in, _ = asha.Room(shared.Room) {
		if time.Now().After(deadline) {
			t.Fatalf("Asha does not see Bilal present: %+v", in.Members)
		}
		time.Sleep(20 * time.Millisecond)
	}

	windows := &leaveOpener{asked: make(chan rooms.ID, 4)}
	log, logs := testenv.NewLogger()
	t.Cleanup(func() { t.Logf("tray log:\n%s", logs) })
	tr := newTray(Options{Service: asha, Windows: windows}, log)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go tr.svcQ.run(ctx)
	go tr.uiQ.run(ctx)
	h := tr.handlers()
	waitLog := func(line string) {
		t.Helper()
		for logs.Count(line) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("waited for %q in the log", line)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	deadline = time.Now().Add(30 * time.Second)

	h.leave(alone.Room)
	select {
	case id := <-windows.asked:
		if id != alone.Room {
			t.Errorf("asked to leave %s, want %s", id, alone.Room)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Leave on the last seat did not ask")
	}
	if _, err := asha.Room(alone.Room); err != nil {
		t.Errorf("Leave on the last seat left without asking: %v", err)
	}

	h.leave(shared.Room)
	for _, err := asha.Room(shared.Room); err == nil; _, err = asha.Room(shared.Room) {
		if time.Now().After(deadline) {
			t.Fatalf("Leave of a room with another member present did not leave\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case id := <-windows.asked:
		t.Errorf("Leave of a room with another member present asked (%s)", id)
	default:
	}

	tr.opt.Windows = nil
	h.leave(alsoAlone.Room)
	waitLog("room not left: leaving would close it, and there is no window to ask in")
	if _, err := asha.Room(alsoAlone.Room); err != nil {
		t.Errorf("Leave on the last seat without a window left: %v", err)
	}
}
