package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sunoye/sunoye/rooms"
)

//go:embed assets
var assets embed.FS

// UIOptions configure the chat UI server.
type UIOptions struct {
	// Port is the loopback port to listen on; 0 takes a free one.
	Port int
	// LaunchTTL is how long a launch URL may wait for its first use;
	// 0 means DefaultLaunchTTL.
	LaunchTTL time.Duration
	// SessionIdle is how long a session lives unused, and SessionMax how
	// long it lives at most; 0 means DefaultSessionIdle and
	// DefaultSessionMax.
	SessionIdle, SessionMax time.Duration
	// Now is the clock that launch tokens and sessions expire by; nil
	// means time.Now. Tests set it to expire them without waiting.
	Now func() time.Time
	// LoadSettings returns the settings shown in the settings view. It
	// should return the broker URL and DSN redacted (mqttx.Redact,
	// db.Redact): they may hold passwords, and the UI shows what it gets.
	// The display name is taken from the Service. Nil shows them empty.
	LoadSettings func() SettingsJSON
	// SaveSettings persists settings edited in the settings view (the
	// config file). Name is always set, to the name now in use; an empty
	// Broker or DB means the user left it unchanged. Errors that wrap
	// rooms.ErrInvalid are shown to the user as a bad value. Nil refuses
	// broker and database changes; the name still applies.
	SaveSettings func(SettingsJSON) error
	// OpenURL opens a link of a message (an http or https URL, checked by
	// LinkURL) in the default browser; nil means github.com/cli/browser.
	// Tests set it to see what would open.
	OpenURL func(url string) error
	// Logger receives refused requests (at debug) and failures.
	Logger *slog.Logger
}

// UI serves the chat UI that chat windows (or, without a web view, the
// default browser) show: the HTML, CSS and JS in assets/, and behind them
// the API of Server plus what only windows need (the event stream with
// focus tracking, settings). It listens on 127.0.0.1 only.
//
// Access: LaunchURL mints a one-time launch token, which the page
// exchanges for a session token (POST /v1/session) and keeps in its
// sessionStorage. Every API request must carry that token in an
// "Authorization: Bearer" header, a Host that names this server, and an
// origin of its own (see crossSite). The session is not a cookie: browsers
// send cookies to every port of 127.0.0.1, that is to any local program
// the user's browser visits, whereas a page's storage and headers stay
// with its origin, port included. The page itself (HTML, CSS, JS) holds
// nothing secret and is served to any request with the right Host.
type UI struct {
	svc     *rooms.Service
	api     *Server
	opt     UIOptions
	log     *slog.Logger
	ln      net.Listener
	port    string
	auth    *authority
	focus   *focusTracker
	mux     *http.ServeMux // the API, behind the session check
	files   http.Handler   // the page, open to all
	serving atomic.Bool
}

// NewUI returns the chat UI of svc, whose API api serves, listening on a
// loopback port (opt.Port, or a free one) so that LaunchURL works at once.
// Serve it with Serve.
func NewUI(svc *rooms.Service, api *Server, opt UIOptions) (*UI, error) {
	if svc == nil || api == nil {
		return nil, errors.New("chat UI: needs a Service and its API server")
	}
	if opt.LaunchTTL <= 0 {
		opt.LaunchTTL = DefaultLaunchTTL
	}
	if opt.SessionIdle <= 0 {
		opt.SessionIdle = DefaultSessionIdle
	}
	if opt.SessionMax <= 0 {
		opt.SessionMax = DefaultSessionMax
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.OpenURL == nil {
		opt.OpenURL = defaultOpenURL
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(opt.Port)))
	if err != nil {
		return nil, fmt.Errorf("chat UI: listen on 127.0.0.1:%d: %w", opt.Port, err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	u := &UI{
		svc: svc, api: api, opt: opt, log: opt.Logger, ln: ln, port: port,
		auth:  newAuthority(opt),
		focus: newFocusTracker(svc),
		mux:   http.NewServeMux(),
	}
	u.routes()
	return u, nil
}

func (u *UI) routes() {
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		panic("web: embedded assets missing: " + err.Error())
	}
	u.files = withAssetTypes(http.FileServerFS(static))
	u.mux.HandleFunc("GET /v1/events", u.events)
	u.mux.HandleFunc("POST /v1/rooms/{room}/focus", u.setFocus)
	u.mux.HandleFunc("GET /v1/settings", u.getSettings)
	u.mux.HandleFunc("POST /v1/settings", u.postSettings)
	u.mux.HandleFunc("POST /v1/open-url", u.openURL)
	// Everything else of the API is the unix socket's, unchanged.
	u.mux.Handle("/v1/", u.api)
}

// assetTypes are the Content-Types of the page's files by extension. They
// are set here, not taken from the system's MIME table, which may name .js
// something else (text/plain, in some Windows registries): the page's
// scripts are ES modules, which a browser runs only when served with a
// JavaScript type, and nosniff forbids it to guess.
var assetTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

// withAssetTypes sets the Content-Type of the files next serves by their
// extension (see assetTypes); next keeps a type set before it.
func withAssetTypes(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t, ok := assetTypes[path.Ext(r.URL.Path)]; ok {
			w.Header().Set("Content-Type", t)
		}
		next.ServeHTTP(w, r)
	})
}

// Origin returns the UI's origin, "http://127.0.0.1:PORT": a window may
// stay on it and should open anything else elsewhere.
func (u *UI) Origin() string { return "http://127.0.0.1:" + u.port }

// LaunchURL returns a URL that opens view v, carrying a one-time token in
// its fragment ("/#launch=TOKEN"), which browsers never send anywhere: the
// page reads it, takes it out of its address at once, and exchanges it for
// a session (POST /v1/session), so a URL that leaks (process list,
// history) is already spent, and one never used expires after
// UIOptions.LaunchTTL. A link preview, which runs no script, spends
// nothing. Mint one per window.
func (u *UI) LaunchURL(v View) string {
	return u.Origin() + "/#" + launchFragment + u.auth.mint(v)
}

// launchFragment starts the fragment of a launch URL; the token follows
// (base64url, so it needs no escaping).
const launchFragment = "launch="

// Serve serves the UI until ctx ends, then closes the listener and every
// open event stream. It may be called once.
func (u *UI) Serve(ctx context.Context) error {
	if !u.serving.CompareAndSwap(false, true) {
		return errors.New("chat UI: already served")
	}
	srv := newHTTPServer(u)
	// Request contexts end with ctx, so event streams end with it instead
	// of holding Shutdown up.
	srv.BaseContext = func(net.Listener) context.Context { return ctx }
	srv.ErrorLog = slog.NewLogLogger(u.log.Handler(), slog.LevelDebug)
	stopped, err := serveUntil(ctx, srv, u.ln)
	if err != nil {
		return fmt.Errorf("chat UI: %w", err)
	}
	<-stopped
	return nil
}

// sessionPath is where the page exchanges its launch token for a session.
const sessionPath = "/v1/session"

// ServeHTTP checks every request (Host, origin, session) before it
// reaches a handler. Only the API (/v1/…) needs a session; the page's
// files are the same for everyone.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	if !u.hostOK(r.Host) {
		u.refuse(w, r, http.StatusForbidden, "wrong Host")
		return
	}
	if reason := u.crossSite(r); reason != "" {
		u.refuse(w, r, http.StatusForbidden, reason)
		return
	}
	switch {
	case r.URL.Path == sessionPath:
		u.startSession(w, r)
		return
	case !strings.HasPrefix(r.URL.Path, "/v1/"):
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			u.refuse(w, r, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		u.files.ServeHTTP(w, r)
		return
	}
	if !u.auth.use(bearer(r)) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="SunOye"`)
		u.refuse(w, r, http.StatusUnauthorized, "no session, or it has expired: open this window from SunOye (its tray menu, or `sunoye open`)")
		return
	}
	u.mux.ServeHTTP(w, r)
}

// startSession serves POST /v1/session: it exchanges a launch token for a
// session token and the view the launch URL was for.
func (u *UI) startSession(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		u.refuse(w, r, http.StatusMethodNotAllowed, "POST a launch token here")
		return
	}
	var req SessionRequest
	if !u.api.decode(w, r, &req) {
		return
	}
	token, v, ok := u.auth.spend(req.Launch)
	if !ok {
		u.refuse(w, r, http.StatusForbidden, "this link was used already or has expired: open the window again from SunOye")
		return
	}
	writeJSON(w, http.StatusCreated, SessionJSON{Session: token, View: v.String()})
}
