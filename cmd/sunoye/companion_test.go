package main

import (
	"os"
	"path/filepath"
	"testing"
)

// The companions (sunoye-window, sunoye-strength) are found beside sunoye
// in a build tree (bin/) and in ../libexec/sunoye in a package's layout
// (/usr/bin/sunoye, /usr/libexec/sunoye/sunoye-window); a file there that
// is not executable does not count.
func TestCompanionBeside(t *testing.T) {
	root := t.TempDir()
	write := func(rel string, mode os.FileMode) string {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	exe := write("usr/bin/sunoye", 0o755)
	if got := companionBeside(exe, windowProgram); got != "" {
		t.Fatalf("nothing installed: found %q", got)
	}
	write("usr/libexec/sunoye/"+windowProgram, 0o644)
	if got := companionBeside(exe, windowProgram); got != "" {
		t.Fatalf("a companion without execute bits counted: %q", got)
	}
	lib := write("usr/libexec/sunoye/"+strengthProgram, 0o755)
	if got := companionBeside(exe, strengthProgram); filepath.Clean(got) != lib {
		t.Fatalf("package layout: found %q, want %q", got, lib)
	}
	beside := write("usr/bin/"+strengthProgram, 0o755)
	if got := companionBeside(exe, strengthProgram); got != beside {
		t.Fatalf("the one beside sunoye must win: found %q, want %q", got, beside)
	}
}
