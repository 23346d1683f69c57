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
	"net/url"
	"strconv"
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
	// Logger receives refused requests (at debug) and failures.
	Logger *slog.Logger
}

// UI serves the chat UI that chat windows (or, without a web view, the
// default browser) show: the HTML, CSS and JS in assets/, and behind them
// the API of Server plus what only windows need (the event stream with
// focus tracking, settings). It listens on 127.0.0.1 only.
//
// Access: LaunchURL mints a one-time token; its first use exchanges it for
// a session cookie. Every other request needs that cookie, a Host that
// names this server, and, for the API and anything that is not a GET, an
// origin of its own (see crossSite).
type UI struct {
	svc     *rooms.Service
	api     *Server
	opt     UIOptions
	log     *slog.Logger
	ln      net.Listener
	port    string
	cookie  string // the session cookie's name, per port
	auth    *authority
	focus   *focusTracker
	mux     *http.ServeMux
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
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(opt.Port)))
	if err != nil {
		return nil, fmt.Errorf("chat UI: listen on 127.0.0.1:%d: %w", opt.Port, err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	u := &UI{
		svc: svc, api: api, opt: opt, log: opt.Logger, ln: ln, port: port,
		// Cookies do not care about ports: two daemons of one user (two
		// state directories) would overwrite each other's cookie in a
		// shared browser under one name.
		cookie: "sunoye_" + port,
		auth:   newAuthority(opt.LaunchTTL),
		focus:  newFocusTracker(svc),
		mux:    http.NewServeMux(),
	}
	u.routes()
	return u, nil
}

func (u *UI) routes() {
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		panic("web: embedded assets missing: " + err.Error())
	}
	files := http.FileServerFS(static)
	// "/" takes every method: "GET /" would conflict with "/v1/" below.
	u.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		files.ServeHTTP(w, r)
	})
	u.mux.HandleFunc("GET /v1/events", u.events)
	u.mux.HandleFunc("POST /v1/rooms/{room}/focus", u.setFocus)
	u.mux.HandleFunc("GET /v1/settings", u.getSettings)
	u.mux.HandleFunc("POST /v1/settings", u.postSettings)
	// Everything else of the API is the unix socket's, unchanged.
	u.mux.Handle("/v1/", u.api)
}

// Origin returns the UI's origin, "http://127.0.0.1:PORT": a window may
// stay on it and should open anything else elsewhere.
func (u *UI) Origin() string { return "http://127.0.0.1:" + u.port }

// LaunchURL returns a URL that opens view v, carrying a one-time token:
// the first request with it gets a session cookie and is redirected to
// the token-free page, so a URL that leaks (process list, history) is
// already spent, and one never used expires after UIOptions.LaunchTTL.
// Mint one per window.
func (u *UI) LaunchURL(v View) string {
	return u.Origin() + "/launch?token=" + url.QueryEscape(u.auth.mint(v))
}

// Serve serves the UI until ctx ends, then closes the listener and every
// open event stream. It may be called once.
func (u *UI) Serve(ctx context.Context) error {
	if !u.serving.CompareAndSwap(false, true) {
		return errors.New("chat UI: already served")
	}
	srv := &http.Server{
		Handler:           u,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// Request contexts end with ctx, so event streams end with it
		// instead of holding Shutdown up.
		BaseContext: func(net.Listener) context.Context { return ctx },
		ErrorLog:    slog.NewLogLogger(u.log.Handler(), slog.LevelDebug),
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	err := srv.Serve(u.ln)
	if errors.Is(err, http.ErrServerClosed) {
		<-stopped
		return nil
	}
	return fmt.Errorf("chat UI: %w", err)
}

// ServeHTTP checks every request (Host, origin, session) before it
// reaches a handler.
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
	if r.URL.Path == "/launch" {
		u.launch(w, r)
		return
	}
	if c, err := r.Cookie(u.cookie); err != nil || !u.auth.valid(c.Value) {
		u.refuse(w, r, http.StatusUnauthorized, "no session: open this window from SunOye (its tray menu, or `sunoye open`)")
		return
	}
	u.mux.ServeHTTP(w, r)
}

// launch exchanges a launch token for a session cookie and sends the
// browser on to the view, without the token in the URL.
func (u *UI) launch(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		// Not even HEAD: a link preview must not spend the token.
		u.refuse(w, r, http.StatusMethodNotAllowed, "launch URLs are for GET")
		return
	}
	session, v, ok := u.auth.spend(r.URL.Query().Get("token"))
	if !ok {
		u.refuse(w, r, http.StatusForbidden, "this link was used already or has expired: open the window again from SunOye")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: u.cookie, Value: session, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, "/"+v.fragment(), http.StatusSeeOther)
}
