/*
 * WebView2.h (in webview_go) includes <EventToken.h>, as the Windows SDK
 * spells it; mingw-w64 ships it as <eventtoken.h>, and Linux file systems
 * tell the two apart. Cross builds of sunoye-window for Windows add this
 * directory with CGO_CXXFLAGS=-I... (see the Makefile's windows target).
 */
#include <eventtoken.h>
