// Package mqttx carries SunOye's room traffic over MQTT: it implements
// rooms.Transport on the Eclipse Paho client, and it embeds a small broker
// (Mochi MQTT) for a LAN or for tests.
//
// A Transport opens one MQTT connection per joined room, because each room
// needs its own Last Will: an empty retained message that clears the
// member's retained presence when the daemon dies. The client id is stable
// and the session persistent (clean session off), so that a daemon that
// restarts, or a connection that blips, gets the messages the broker queued
// in the meantime.
//
// Payloads are opaque here: the domain encrypts them end to end before they
// reach the transport. This package never logs them, nor passwords.
package mqttx
