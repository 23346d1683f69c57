package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/sunoye/sunoye/rooms"
)

// strengthProgram estimates chosen passwords (cmd/sunoye-strength); it is
// installed beside sunoye, so that the daemon does not carry the
// estimator's dictionaries while it idles.
const strengthProgram = "sunoye-strength"

// strengthTimeout bounds one estimate: the program starts, builds its
// dictionaries and estimates at most 100 characters.
const strengthTimeout = 10 * time.Second

// estimateStrength runs sunoye-strength with the password on standard
// input (never in its arguments, which every local user can read).
func estimateStrength(ctx context.Context, password string) (rooms.Strength, error) {
	prog := companion(strengthProgram)
	if prog == "" {
		return rooms.Strength{}, errors.New("no " + strengthProgram + " beside sunoye or on PATH")
	}
	ctx, cancel := context.WithTimeout(ctx, strengthTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog)
	cmd.Stdin = strings.NewReader(password)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return rooms.Strength{}, fmt.Errorf("%s: %w: %s", strengthProgram, err, strings.TrimSpace(stderr.String()))
	}
	var s rooms.Strength
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		return rooms.Strength{}, fmt.Errorf("%s printed %q: %w", strengthProgram, out.String(), err)
	}
	return s, nil
}
