//go:build linux && cgo && !nowebview

package window

/*
#cgo linux pkg-config: gtk+-3.0
#include <gtk/gtk.h>

static void sunoye_present(void *w) { gtk_window_present(GTK_WINDOW(w)); }
*/
import "C"

import "unsafe"

// engine is what the webview needs, for errors.
const engine = "WebKitGTK"

// present brings the window to the front.
func present(w unsafe.Pointer) { C.sunoye_present(w) }

// engineMissing: WebKitGTK is linked in; webview.New says if it fails.
func engineMissing() error { return nil }

// fallback is never called on Linux (engineMissing is always nil).
func fallback(string, error) error { return nil }
