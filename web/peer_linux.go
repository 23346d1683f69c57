package web

import (
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// sameUser wraps a unix-socket listener so that connections from any other
// user are closed unanswered. The socket's mode already keeps them out;
// this holds even if the mode is loosened by hand or the directory is
// shared, since the kernel vouches for the peer's uid (SO_PEERCRED).
func sameUser(ln net.Listener) net.Listener { return peerCheck{ln} }

type peerCheck struct{ net.Listener }

func (l peerCheck) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if peerIsUs(c) {
			return c, nil
		}
		c.Close()
	}
}

func peerIsUs(c net.Conn) bool {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return false
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return false
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || credErr != nil {
		return false
	}
	return int(cred.Uid) == os.Getuid()
}
