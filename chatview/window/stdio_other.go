//go:build !unix

package window

import "os"

// Stdio returns the window process's channel to the daemon: its standard
// input and output.
func Stdio() (in, out *os.File, err error) { return os.Stdin, os.Stdout, nil }
