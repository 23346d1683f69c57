// Package winbuild holds no Go code: its directory is the include path
// that the Windows cross build of sunoye-window adds (CGO_CXXFLAGS=-I…)
// for EventToken.h, which WebView2.h includes under the Windows SDK's
// spelling while mingw-w64 ships eventtoken.h. See the Makefile's windows
// target.
package winbuild
