//go:build !linux

package testenv

import "os/exec"

// startCmd starts cmd. Outside Linux there is no death signal, so a killed
// test binary can leave servers behind.
func startCmd(cmd *exec.Cmd) error {
	return cmd.Start()
}
