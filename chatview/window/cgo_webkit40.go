//go:build linux && cgo && !nowebview && !webkit41

package window

// webkit2gtk-4.0: Debian 12, Ubuntu 22.04. Build with -tags webkit41 for
// 4.1 (make build WEBKIT=4.1).

// #cgo linux pkg-config: gtk+-3.0 webkit2gtk-4.0
import "C"
