package db

import (
	"context"
	"strings"
	"testing"

	"github.com/sunoye/sunoye/internal/testenv"
)

// A MySQL that takes only TLS, with a certificate from a private CA: the
// DSN a user types is ?ca=FILE; without TLS, or trusting only the
// system's CAs, the registry says why it cannot connect.
func TestMySQLTLS(t *testing.T) {
	s, caFile := testenv.StartMariaDBTLS(t)
	ctx := context.Background()

	reg, err := Open(ctx, s.DSN()+"?ca="+caFile)
	if err != nil {
		t.Fatalf("Open with ca=: %v", err)
	}
	reg.Close()

	for name, c := range map[string]struct{ dsn, says string }{
		"plain":       {s.DSN(), "registry mysql://"}, // MariaDB answers "access denied"
		"system CAs":  {s.DSN() + "?tls=true", "certificate"},
		"missing CA":  {s.DSN() + "?ca=/nonexistent/ca.pem", "ca="},
		"not the TLS": {s.DSN() + "?ca=" + caFile + "&tls=skip-verify", ""},
	} {
		reg, err := Open(ctx, c.dsn)
		if c.says == "" {
			// An explicit tls= beside ca= is the driver's to use; ca= wins.
			if err != nil {
				t.Errorf("%s: %v", name, err)
			} else {
				reg.Close()
			}
			continue
		}
		if err == nil {
			reg.Close()
			t.Errorf("%s: Open succeeded", name)
			continue
		}
		if !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want it to mention %q", name, err, c.says)
		}
	}
}
