// Package userpipe is a local endpoint on Windows that only the user who
// made it can reach: a named pipe. A unix socket's file mode is no access
// control there (and Wine 8 has no AF_UNIX at all), so the daemon's local
// API listens here on Windows.
//
// The pipe's name is random and written to an address file in the state
// directory, which is the user's own (%LocalAppData%): another local user
// can neither guess the name to squat it first nor read it. The pipe's
// security descriptor grants access to the current user alone; go-winio
// creates it as the first instance (it fails if the name is taken) and
// rejects remote clients, and clients dial it anonymously, so a server
// cannot act as them.
package userpipe
