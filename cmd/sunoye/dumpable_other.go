//go:build !linux

package main

// notDumpable does nothing: PR_SET_DUMPABLE is Linux's.
func notDumpable() error { return nil }
