//go:build linux && cgo && !nowebview && webkit41

package window

// webkit2gtk-4.1: Debian 13, Ubuntu 24.04 (Debian 12 has it too).

// #cgo linux pkg-config: gtk+-3.0 webkit2gtk-4.1
import "C"
