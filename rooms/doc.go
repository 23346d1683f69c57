// Package rooms is SunOye's domain: rooms with a number and a password,
// their members, the end-to-end encrypted messages exchanged in them, and
// the Service that joins, leaves and sends.
//
// The package imports no adapter. It states what it needs from the outside
// world as three small interfaces — a Registry (which rooms exist and who
// holds a lease in them), a Transport (a publish/subscribe session per
// room) and a Notifier (tells the user that a message arrived) — and the
// packages db, mqttx and notifier implement them. cmd/sunoye wires them.
package rooms
