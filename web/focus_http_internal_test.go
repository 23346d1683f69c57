package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A focus report that fails for a reason of the daemon's own is a 500
// with the internal code, not bad_request; one without an event stream is
// the client's mistake: 409, bad_request.
func TestFocusFailedCodes(t *testing.T) {
	u := &UI{api: &Server{log: slog.New(slog.DiscardHandler)}}
	for _, c := range []struct {
		err    error
		status int
		code   string
	}{
		{errors.New("the tracker broke"), http.StatusInternalServerError, CodeInternal},
		{fmt.Errorf("focus: %w", errNoStream), http.StatusConflict, CodeBadRequest},
	} {
		rec := httptest.NewRecorder()
		u.focusFailed(rec, c.err)
		var body ErrorJSON
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%v: body %q: %v", c.err, rec.Body, err)
		}
		if rec.Code != c.status || body.Code != c.code || body.Error != c.err.Error() {
			t.Errorf("%v: %d %+v, want %d with code %s", c.err, rec.Code, body, c.status, c.code)
		}
	}
}
