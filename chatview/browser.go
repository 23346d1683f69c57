package chatview

import (
	"fmt"

	"github.com/cli/browser"
)

// OpenBrowser shows url in the default browser: the way windows open where
// there is no webview (github.com/cli/browser knows each system's opener).
func OpenBrowser(url string) error {
	if err := browser.OpenURL(url); err != nil {
		return fmt.Errorf("open the default browser: %w", err)
	}
	return nil
}
