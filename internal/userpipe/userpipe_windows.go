package userpipe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// pipePrefix starts every SunOye pipe's name; Dial refuses others.
const pipePrefix = `\\.\pipe\sunoye-`

// Listen listens on a new named pipe that only the current user can
// open and writes its name to path.
func Listen(path string) (net.Listener, error) {
	sddl, err := currentUserOnly()
	if err != nil {
		return nil, err
	}
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	name := pipePrefix + hex.EncodeToString(nonce[:])
	ln, err := winio.ListenPipe(name, &winio.PipeConfig{SecurityDescriptor: sddl})
	if err != nil {
		return nil, fmt.Errorf("listen on the named pipe %s: %w", name, err)
	}
	if underWine() {
		// Wine hands the first client to go-winio's placeholder instance
		// (made to reserve the name, never connected), where its requests
		// wait forever, as on Windows 7 (go-winio issue 313). Spend it.
		to := 5 * time.Second
		c, err := winio.DialPipe(name, &to)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("listen on the named pipe %s: first connection under Wine: %w", name, err)
		}
		c.Close()
	}
	if err := writeAddress(path, name); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// underWine reports whether this process runs under Wine, whose ntdll
// exports wine_get_version.
func underWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}

// currentUserOnly is an SDDL security descriptor owned by the current
// user whose protected DACL allows that user (and no one else, not even
// Administrators or SYSTEM) full access.
func currentUserOnly() (string, error) {
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("the current user's SID: %w", err)
	}
	sid := tu.User.Sid.String()
	return "O:" + sid + "D:P(A;;GA;;;" + sid + ")", nil
}

// writeAddress replaces path by a file holding name, atomically: a client
// reads either the old name or the new.
func writeAddress(path, name string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".sunoye-pipe-*")
	if err != nil {
		return fmt.Errorf("write the pipe's name: %w", err)
	}
	_, werr := tmp.WriteString(name + "\n")
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write the pipe's name to %s: %w", path, werr)
	}
	return nil
}

// Dial connects to the pipe named in the file at path. A missing file
// or pipe is fs.ErrNotExist (no daemon).
func Dial(ctx context.Context, path string) (net.Conn, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSpace(string(b))
	if !strings.HasPrefix(name, pipePrefix) || strings.ContainsAny(name[len(pipePrefix):], `\/`) {
		return nil, fmt.Errorf("%s does not name a SunOye pipe", path)
	}
	return winio.DialPipeContext(ctx, name)
}
