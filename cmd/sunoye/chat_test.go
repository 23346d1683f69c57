package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sunoye/sunoye/internal/testenv"
	"github.com/sunoye/sunoye/rooms"
)

// Two people chat through the CLI, on each backend: one creates a room,
// the other joins with the password from standard input, and messages go
// both ways, live and into the history.
func TestChat(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ds := b.daemons(t, "Asha", "Bilal")
		asha, bilal := ds[0], ds[1]

		inv := create(t, asha)
		if _, err := rooms.ParseID(inv.Room); err != nil || len(inv.Password) < 20 {
			t.Fatalf("create printed room %q password %q", inv.Room, inv.Password)
		}
		r := bilal.RunStdin(t, inv.Password+"\n", "join", inv.Room)
		if r.Code != 0 {
			t.Fatalf("join: exit %d: %s", r.Code, r.Stderr)
		}
		ashaTail := startTail(t, asha, inv.Room)

		must(t, bilal, "send", inv.Room, "hi", "Asha!")
		m := next(t, ashaTail)
		if m.Room != inv.Room || m.From != "Bilal" || m.Text != "hi Asha!" || m.ID == "" || m.Own {
			t.Errorf("Asha's tail got %+v", m)
		}
		if ts, err := time.Parse(time.RFC3339, m.TS); err != nil || time.Since(ts) > time.Minute {
			t.Errorf("ts %q: %v", m.TS, err)
		}

		must(t, asha, "send", inv.Room, "hello <b>Bilal</b>\nsecond line")
		if m := next(t, ashaTail); m.Text != "hello <b>Bilal</b>\nsecond line" || !m.Own {
			t.Errorf("Asha's own message in her tail: %+v", m)
		}
		eventually(t, 10*time.Second, func() error {
			got := texts(history(t, bilal, inv.Room))
			want := []string{"Bilal: hi Asha!", "Asha: hello <b>Bilal</b>\nsecond line"}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Errorf("Bilal's history = %q, want %q", got, want)
			}
			return nil
		})

		// Both see two members; Bilal has one unread (Asha's), Asha none
		// (her tail reads along).
		eventually(t, 10*time.Second, func() error {
			for _, c := range []struct {
				d      *testenv.Daemon
				unread int
			}{{asha, 0}, {bilal, 1}} {
				got, ok := findRoom(roomsJSON(t, c.d), inv.Room)
				if !ok || got.Members != 2 || got.Unread != c.unread || !got.Connected {
					return fmt.Errorf("rooms --json: %+v, want 2 members and %d unread", got, c.unread)
				}
			}
			return nil
		})

		// The text listing and tail's text form.
		if out := must(t, bilal, "rooms"); !strings.Contains(out, inv.Room) {
			t.Errorf("rooms printed %q", out)
		}
	})
}

// A plain MQTT client subscribed to everything on the broker sees the
// conversation only as ciphertext: not the text, not the names, not the
// room number, not the password.
func TestBrokerSeesOnlyCiphertext(t *testing.T) {
	b := realBackend(t)
	sub := exec.Command(testenv.NeedBinary(t, "mosquitto_sub", "mosquitto-clients"),
		"-h", "127.0.0.1", "-p", strings.Split(b.mosquitto.Addr(), ":")[1], "-v", "-t", "#", "-F", "%t %x")
	var seen bytes.Buffer
	sub.Stdout = &seen
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sub.Process.Kill(); sub.Wait() }()

	ds := b.daemons(t, "Asha Secretname", "Bilal Hiddenname")
	asha, bilal := ds[0], ds[1]
	inv := create(t, asha, "--password", "correct horse battery", "--weak-password")
	bilal.RunStdin(t, inv.Password+"\n", "join", inv.Room)
	must(t, asha, "send", inv.Room, "the launch code is swordfish")
	must(t, bilal, "send", inv.Room, "ack swordfish")
	eventually(t, 10*time.Second, func() error {
		if len(history(t, asha, inv.Room)) != 2 {
			return fmt.Errorf("Asha's history: %d messages", len(history(t, asha, inv.Room)))
		}
		return nil
	})
	time.Sleep(200 * time.Millisecond) // let mosquitto_sub print
	sub.Process.Kill()
	sub.Wait()

	out := seen.String() // topics in clear, payloads in hex
	if !strings.Contains(out, "sunoye/v1/") || strings.Count(out, "\n") < 4 {
		t.Fatalf("mosquitto_sub saw too little to judge:\n%s", out)
	}
	decoded := hexPayloads(t, out)
	// Not even who is who: the member ids (the same in every room) stay
	// inside the ciphertext; topics carry per-room pseudonyms.
	var members []string
	for _, d := range ds {
		st, err := d.Client().Status(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, st.Member)
	}
	for _, secret := range append([]string{"swordfish", "launch code", "Secretname", "Hiddenname", "correct horse", inv.Room}, members...) {
		if strings.Contains(out, secret) || bytes.Contains(decoded, []byte(secret)) {
			t.Errorf("the broker saw %q in clear", secret)
		}
	}
}

// hexPayloads decodes the payloads of mosquitto_sub's "%t %x" lines.
func hexPayloads(t *testing.T, out string) []byte {
	var all []byte
	for _, line := range strings.Split(out, "\n") {
		_, h, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		b, err := hex.DecodeString(strings.TrimSpace(h))
		if err != nil {
			t.Fatalf("mosquitto_sub line %q: %v", line, err)
		}
		all = append(all, b...)
	}
	return all
}

// Beyond one machine: a broker with TLS from a private CA and a password,
// and a MySQL that takes only TLS from a private CA — each configured in
// the one URL a user types.
func TestChatOverTLS(t *testing.T) {
	m := testenv.StartMosquittoTLS(t)
	mdb, mdbCA := testenv.StartMariaDBTLS(t)
	u, err := url.Parse(m.URL())
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(m.Username, m.Password)
	u.RawQuery = "ca=" + url.QueryEscape(m.CAFile)
	b := backend{first: u.String(), others: u.String(), db: mdb.DSN() + "?ca=" + url.QueryEscape(mdbCA)}
	ds := b.daemons(t, "Asha", "Bilal")
	inv := create(t, ds[0])
	must(t, ds[1], "join", inv.Room, "--password", inv.Password)
	must(t, ds[1], "send", inv.Room, "over TLS both ways")
	eventually(t, 10*time.Second, func() error {
		if got := texts(history(t, ds[0], inv.Room)); len(got) != 1 || got[0] != "Bilal: over TLS both ways" {
			return fmt.Errorf("Asha's history = %q", got)
		}
		return nil
	})
	for _, d := range ds {
		if strings.Contains(d.Log(), m.Password) {
			t.Error("the broker password is in the daemon's log")
		}
	}
}
