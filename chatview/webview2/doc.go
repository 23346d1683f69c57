// Package webview2 tells whether the Microsoft Edge WebView2 runtime, which
// the chat window needs on Windows, is installed. webview_go's New does not
// return when it is missing (it waits for a browser process that never
// starts), so sunoye-window asks here first and opens the default browser
// instead; `sunoye doctor` says which it will be.
//
// It follows Microsoft's documented detection: the runtime's version ("pv")
// under the EdgeUpdate client key of the WebView2 runtime, per machine
// (64- and 32-bit views) or per user, or a fixed-version runtime named by
// WEBVIEW2_BROWSER_EXECUTABLE_FOLDER.
// https://learn.microsoft.com/microsoft-edge/webview2/concepts/distribution#detect-if-a-webview2-runtime-is-already-installed
package webview2

import "errors"

// ErrMissing means no WebView2 runtime is installed.
var ErrMissing = errors.New("no WebView2 runtime is installed (get the Evergreen runtime from Microsoft: https://go.microsoft.com/fwlink/p/?LinkId=2124703)")

// FolderEnv names a fixed-version runtime's folder; webview_go's loader
// honours it too.
const FolderEnv = "WEBVIEW2_BROWSER_EXECUTABLE_FOLDER"

// ClientKey is the WebView2 runtime's EdgeUpdate client (Evergreen).
const ClientKey = `Microsoft\EdgeUpdate\Clients\{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}`

// usable reports whether a registry "pv" value names an installed
// runtime: empty and 0.0.0.0 are what an uninstall leaves.
func usable(pv string) bool { return pv != "" && pv != "0.0.0.0" }
