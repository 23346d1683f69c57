// Package tray puts SunOye in the system tray: an icon that shows unread
// messages and a lost broker connection, and a menu to create and join
// rooms, open a room's chat, copy its invite, mute or leave it, switch Do
// not disturb, open the settings and quit.
//
// On Linux and the BSDs the icon is a StatusNotifierItem with a
// com.canonical.dbusmenu menu on the D-Bus session bus (fyne.io/systray,
// which does this in pure Go); a tray host such as KDE Plasma, XFCE's
// panel, or GNOME with the AppIndicator extension draws them. Without a
// tray host, or without a session bus, the daemon keeps running: [Run]
// logs once why the icon cannot be shown and waits.
//
// The menu follows the rooms.Service live, updating its entries in place
// rather than rebuilding the menu, so that a panel showing it neither
// flickers nor loses a click; see slots.go for how room entries keep their
// order without moving.
package tray
