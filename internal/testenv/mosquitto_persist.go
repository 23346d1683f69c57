package testenv

import (
	"fmt"
	"strings"
	"testing"
)

// StartMosquittoPersistent starts a private mosquitto broker like
// StartMosquitto, but configured the way SunOye's README tells people to
// run their own broker:
//
//   - persistence true: on Stop the broker writes its state to disk and
//     reads it back on Start, so that a restart keeps the clients'
//     persistent sessions (subscriptions and the QoS 1 messages queued for
//     them) and the retained messages (SunOye's presence);
//   - max_queued_messages 0: no per-client bound on queued QoS 1 messages
//     (mosquitto's default of 1000 drops the backlog of a client that
//     reconnects after a busy minute);
//   - max_inflight_messages 0: with a bounded window, mosquitto loses the
//     order of a client's unacknowledged and queued messages across its
//     restart;
//   - no message_size_limit (the README suggests one): the flood tests
//     send 1 MiB blobs to show what the daemon does with them;
//   - persistent_client_expiration 7d: how long a client may stay away and
//     still find its session.
//
// Tests of broker restarts use it to check what SunOye promises on a broker
// set up as documented; StartMosquitto's broker forgets everything when it
// stops, which is what a restart of a default mosquitto does.
func StartMosquittoPersistent(t testing.TB) *Mosquitto {
	t.Helper()
	m := &Mosquitto{persistent: true}
	m.init(t, nil)
	return m
}

// writePersistence writes the configuration lines that differ between
// StartMosquitto and StartMosquittoPersistent.
func (m *Mosquitto) writePersistence(b *strings.Builder) {
	if !m.persistent {
		b.WriteString("persistence false\n")
		return
	}
	b.WriteString("persistence true\n")
	// The trailing slash is required: mosquitto appends the file name.
	fmt.Fprintf(b, "persistence_location %s/\n", m.dir)
	b.WriteString("max_queued_messages 0\n")
	b.WriteString("max_inflight_messages 0\n")
	b.WriteString("persistent_client_expiration 7d\n")
}
