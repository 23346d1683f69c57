// Command sunoye-strength estimates how hard a chosen room password is to
// guess. The sunoye daemon runs it, beside itself, when someone creates a
// room with a password of their own: the password comes on standard input
// (never in the arguments, which every local user can read), and the
// estimate goes to standard output as JSON, {"bits":…,"weaknesses":[…]}.
// It is a program of its own so that the estimator's dictionaries (some 7
// MB from the moment a program that links them starts) live only as long
// as an estimate does, not as long as the daemon.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sunoye/sunoye/internal/strength"
	"github.com/sunoye/sunoye/rooms"
)

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sunoye-strength:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	b, err := io.ReadAll(io.LimitReader(in, rooms.MaxPasswordBytes+1))
	if err != nil {
		return err
	}
	if len(b) > rooms.MaxPasswordBytes {
		return fmt.Errorf("password longer than %d bytes", rooms.MaxPasswordBytes)
	}
	p := strings.TrimSuffix(string(b), "\n")
	return json.NewEncoder(out).Encode(strength.Estimate(p))
}
