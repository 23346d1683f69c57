package web

import (
	"context"
	"net/http"
	"sync"
)

// LaunchJSON answers POST /v1/launch: a one-time link to the chat UI.
type LaunchJSON struct {
	URL string `json:"url"`
}

// launcher holds the function behind POST /v1/launch.
type launcher struct {
	mu  sync.Mutex
	url func(View) string
}

// SetLauncher sets the function that makes one-time links to the chat UI
// (UI.LaunchURL) for POST /v1/launch: `sunoye open --url` prints one, for
// a browser on a machine where the daemon shows no windows. The link is a
// credential until first used; the unix socket hands it only to the user.
func (s *Server) SetLauncher(url func(View) string) {
	s.launcher.mu.Lock()
	s.launcher.url = url
	s.launcher.mu.Unlock()
}

func (s *Server) launch(w http.ResponseWriter, r *http.Request) {
	v, ok := s.view(w, r)
	if !ok {
		return
	}
	s.launcher.mu.Lock()
	url := s.launcher.url
	s.launcher.mu.Unlock()
	if url == nil {
		writeJSON(w, http.StatusServiceUnavailable, ErrorJSON{Error: "this daemon serves no chat UI", Code: CodeNoWindow})
		return
	}
	writeJSON(w, http.StatusOK, LaunchJSON{URL: url(v)})
}

// Launch asks the daemon for a one-time link to the chat UI showing v.
func (c *Client) Launch(ctx context.Context, v View) (string, error) {
	var out LaunchJSON
	return out.URL, c.do(ctx, http.MethodPost, "/v1/launch", OpenRequest{View: v.String()}, &out)
}
