package web

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/sunoye/sunoye/rooms"
)

// getSettings serves GET /v1/settings: the display name in use, and the
// broker and database as UIOptions.LoadSettings gives them (redacted).
func (u *UI) getSettings(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, u.settings())
}

func (u *UI) settings() SettingsJSON {
	var s SettingsJSON
	if u.opt.LoadSettings != nil {
		s = u.opt.LoadSettings()
	}
	s.Name = u.svc.Name()
	return s
}

// postSettings serves POST /v1/settings. The display name applies at once
// (announced in every room); a broker or database is saved for the next
// start. An empty field, or one equal to what LoadSettings shows, is left
// as it is.
func (u *UI) postSettings(w http.ResponseWriter, r *http.Request) {
	var req SettingsJSON
	if !u.api.decode(w, r, &req) {
		return
	}
	cur := u.settings()
	if req.Broker == cur.Broker {
		req.Broker = ""
	}
	if req.DB == cur.DB {
		req.DB = ""
	}
	restart := req.Broker != "" || req.DB != ""
	if restart && u.opt.SaveSettings == nil {
		writeJSON(w, http.StatusBadRequest, ErrorJSON{Error: "this daemon cannot change its broker or database: start it with other --broker or --db flags", Code: CodeBadRequest})
		return
	}
	if req.Name != "" && req.Name != cur.Name {
		if err := u.svc.SetName(req.Name); err != nil {
			u.api.fail(w, err)
			return
		}
	}
	if u.opt.SaveSettings != nil {
		req.Name = u.svc.Name()
		if err := u.opt.SaveSettings(req); err != nil {
			if !errors.Is(err, rooms.ErrInvalid) {
				err = fmt.Errorf("save settings: %w", err)
			}
			u.api.fail(w, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, SettingsAnswerJSON{SettingsJSON: u.settings(), RestartNeeded: restart})
}
