package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/cli/browser"
)

// maxLinkBytes bounds a URL the chat UI asks to open: a message is at most
// 4 KiB anyway.
const maxLinkBytes = 4096

// errNotALink: what the chat UI asked to open is no http(s) URL that a
// message may link to.
var errNotALink = errors.New("not an http or https URL")

// LinkURL checks that s is a URL a link in a message may open, the rules
// of the page's links (assets/links.js) again, since the daemon trusts no
// request: http or https only (never javascript:, data:, file: or any
// other scheme), with a host, without user name or password (the
// "https://bank.example@evil.example" trick), without spaces or control
// characters, at most maxLinkBytes long. It returns the URL as it will be
// opened.
func LinkURL(s string) (string, error) {
	if len(s) > maxLinkBytes {
		return "", fmt.Errorf("%w: longer than %d bytes", errNotALink, maxLinkBytes)
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return "", fmt.Errorf("%w: it holds spaces or control characters", errNotALink)
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%w: %v", errNotALink, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("%w: scheme %q", errNotALink, u.Scheme)
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("%w: no host", errNotALink)
	case u.User != nil:
		return "", fmt.Errorf("%w: it holds a user name or password", errNotALink)
	}
	return u.String(), nil
}

// openURL serves POST /v1/open-url: a chat window asks for a link of a
// message to open in the default browser, never in the window itself.
func (u *UI) openURL(w http.ResponseWriter, r *http.Request) {
	var req OpenURLRequest
	if !u.api.decode(w, r, &req) {
		return
	}
	link, err := LinkURL(req.URL)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorJSON{Error: err.Error(), Code: CodeBadRequest})
		return
	}
	if err := u.opt.OpenURL(link); err != nil {
		u.log.Warn("open a link in the default browser", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, ErrorJSON{Error: "the default browser could not be started: " + err.Error(), Code: CodeUnavailable})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// defaultOpenURL opens url in the default browser (xdg-open and the like;
// github.com/cli/browser knows each system's opener).
func defaultOpenURL(url string) error { return browser.OpenURL(url) }
