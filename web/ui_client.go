package web

import (
	"context"
	"net/http"
)

// Open asks the daemon to show a chat window for v (`sunoye open`). An
// APIError with CodeNoWindow means the daemon shows no windows.
func (c *Client) Open(ctx context.Context, v View) error {
	return c.do(ctx, http.MethodPost, "/v1/open", OpenRequest{View: v.String()}, nil)
}
