package testenv

import (
	"os"
	"os/user"
	"strconv"
)

// userName returns the name of the user the tests run as. Servers are told
// to run as this user because, started as root, they would otherwise
// refuse to run (mariadbd) or switch to a service user (mosquitto) who
// cannot read the test's temp dirs.
func userName() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	if name := os.Getenv("USER"); name != "" {
		return name
	}
	return strconv.Itoa(os.Geteuid())
}
