// Package wintest runs the Windows build under Wine: sunoye.exe's daemon
// and CLI chatting with a Linux daemon, the window's browser fallback, and
// the Windows test binaries of rooms, mqttx, db and internal/userpipe. It
// has only tests; they share one Wine prefix (see testenv.StartWine).
package wintest
