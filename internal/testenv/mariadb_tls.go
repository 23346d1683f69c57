package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// StartMariaDBTLS starts a private MariaDB server that accepts only TLS
// connections, with a certificate for 127.0.0.1 from a CA made up for the
// test, and returns it with the CA certificate's file: what a user of a
// MySQL with a private CA has.
func StartMariaDBTLS(t testing.TB) (s *MariaDBServer, caFile string) {
	t.Helper()
	bins := needMariaDB(t)
	dir := shortTempDir(t, "mdb")
	ca, err := newTestCA()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	certPEM, keyPEM, err := ca.serverCert()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	caFile = filepath.Join(dir, "ca.pem")
	for name, b := range map[string][]byte{"ca.pem": ca.certPEM, "server.pem": certPEM, "server.key": keyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
	s, err = startMariaDBServer(bins, dir,
		"--ssl-ca="+caFile,
		"--ssl-cert="+filepath.Join(dir, "server.pem"),
		"--ssl-key="+filepath.Join(dir, "server.key"),
		"--require-secure-transport=ON",
	)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(s.stop)
	s.database = "sunoye"
	if err := s.createDatabase(s.database); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return s, caFile
}
