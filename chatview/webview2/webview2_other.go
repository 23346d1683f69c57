//go:build !windows

package webview2

import "errors"

// Version fails: WebView2 is Windows's.
func Version() (string, error) { return "", errors.New("WebView2 is a Windows component") }
