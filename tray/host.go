package tray

// NoHostHint is the line logged, and what `sunoye doctor` can print, when
// the session bus has no tray host.
const NoHostHint = "no tray host (StatusNotifierWatcher) on the session bus — on GNOME install the AppIndicator extension; notifications, the CLI and chat windows keep working"
