// Package notifier shows desktop notifications for incoming chat
// messages and reports the user's clicks and replies back to the daemon.
//
// On Linux and the BSDs a [Notifier] speaks the freedesktop Desktop
// Notifications protocol (org.freedesktop.Notifications) over its own,
// private D-Bus connection: a room's notifications replace each other
// instead of stacking (replaces_id), clicking one calls [Options.OnOpen],
// and where the server offers it (KDE Plasma) the user can answer from the
// notification itself ([Options.OnReply]). Every D-Bus call is bounded by
// [Options.CallTimeout], so a notification server that hangs never holds
// up the daemon. When there is no session bus or no notification server,
// the Notifier logs that once and tries again with the next message.
//
// Elsewhere (Windows, macOS) it shows plain notifications through
// github.com/gen2brain/beeep, without click actions.
//
// Which messages deserve a notification (not muted, not during Do not
// disturb, not one's own, not in a focused chat window) is decided by
// rooms.Service before it calls Notify.
package notifier
