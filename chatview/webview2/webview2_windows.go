package webview2

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows/registry"
)

// Version returns the installed WebView2 runtime's version, or ErrMissing.
func Version() (string, error) {
	if dir := os.Getenv(FolderEnv); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "msedgewebview2.exe")); err != nil {
			return "", fmt.Errorf("%s=%s: %w", FolderEnv, dir, err)
		}
		return "fixed version in " + dir, nil
	}
	for _, k := range []struct {
		root registry.Key
		path string
	}{
		{registry.LOCAL_MACHINE, `SOFTWARE\WOW6432Node\` + ClientKey},
		{registry.LOCAL_MACHINE, `SOFTWARE\` + ClientKey},
		{registry.CURRENT_USER, `Software\` + ClientKey},
	} {
		key, err := registry.OpenKey(k.root, k.path, registry.QUERY_VALUE)
		if err != nil {
			continue
		}
		pv, _, err := key.GetStringValue("pv")
		key.Close()
		if err == nil && usable(pv) {
			return pv, nil
		}
	}
	return "", ErrMissing
}
