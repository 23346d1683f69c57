package web

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/sunoye/sunoye/rooms"
)

// fileCSP is the Content-Security-Policy of a served file: should a
// browser ever show one as a page, it runs nothing and loads nothing.
const fileCSP = "default-src 'none'; img-src 'self'; sandbox"

// sendFile serves POST /v1/rooms/{room}/files?name=NAME[&text=CAPTION]:
// the body is the file's bytes, at most rooms.MaxFileBytes.
func (s *Server) sendFile(w http.ResponseWriter, r *http.Request) {
	id, ok := s.roomID(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	if r.ContentLength > rooms.MaxFileBytes {
		s.fail(w, tooLarge(r.ContentLength))
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, rooms.MaxFileBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.fail(w, tooLarge(-1))
			return
		}
		writeJSON(w, http.StatusBadRequest, ErrorJSON{Error: "read the file: " + err.Error(), Code: CodeBadRequest})
		return
	}
	m, err := s.svc.SendFile(r.Context(), id, q.Get("name"), data, q.Get("text"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, NewMessageJSON(m))
}

// tooLarge is the error of an upload of n bytes (-1: unknown, more than
// the limit).
func tooLarge(n int64) error {
	if n < 0 {
		return fmt.Errorf("%w: more than %d bytes (8 MiB)", rooms.ErrTooLarge, rooms.MaxFileBytes)
	}
	return fmt.Errorf("%w: %d bytes, at most %d (8 MiB) can be sent", rooms.ErrTooLarge, n, rooms.MaxFileBytes)
}

// file serves GET /v1/rooms/{room}/files/{msg}: the bytes of message
// msg's file. An image (by its sniffed type: PNG, JPEG, GIF, WebP) is
// served as such, for the window to show; anything else, or any file with
// ?download=1, as an attachment of type application/octet-stream. The
// name is made safe to save under.
func (s *Server) file(w http.ResponseWriter, r *http.Request) {
	id, ok := s.roomID(w, r)
	if !ok {
		return
	}
	fi, data, err := s.svc.File(id, r.PathValue("msg"))
	if err != nil {
		s.fail(w, err)
		return
	}
	h := w.Header()
	ctype, disposition := "application/octet-stream", "attachment"
	// Sniffed again from the bytes served: nothing but them decides.
	if t := rooms.SniffType(data); t != ctype && r.URL.Query().Get("download") == "" {
		ctype, disposition = t, "inline"
	}
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": rooms.SafeFileName(fi.Name)}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", fileCSP)
	h.Set("Content-Length", strconv.Itoa(len(data)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(data)
	}
}
