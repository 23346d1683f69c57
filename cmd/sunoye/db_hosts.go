package main

import "github.com/sunoye/sunoye/db"

// onFirstHost applies change, which reads a DSN with url.Parse (to put a
// password in it), to a registry DSN that may list several hosts:
// url.Parse takes one, so change gets the DSN with its first host only,
// and the others are listed again in what it returns.
func onFirstHost(dsn string, change func(string) (string, error)) (string, error) {
	first, more := db.CutHosts(dsn)
	changed, err := change(first)
	if err != nil {
		return "", err
	}
	return db.AddHosts(changed, more), nil
}
