package testenv

import (
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// MosquittoTLS is a private mosquitto broker whose listeners speak TLS and
// require a username and password.
type MosquittoTLS struct {
	Mosquitto

	// CAFile is the path of the PEM file of the CA that signed the
	// broker's certificate; CAPEM is its contents.
	CAFile string
	CAPEM  []byte

	// Username and Password are the only credentials the broker accepts.
	Username, Password string
}

// StartMosquittoTLS starts a private mosquitto broker like StartMosquitto,
// but with TLS on both listeners and anonymous clients refused. The CA and
// the server certificate (for 127.0.0.1, ::1 and localhost) are made up for
// the test; the password file is made with mosquitto_passwd.
func StartMosquittoTLS(t testing.TB) *MosquittoTLS {
	t.Helper()
	passwdBin := NeedBinary(t, "mosquitto_passwd", "mosquitto")
	dir := t.TempDir()
	ca, err := newTestCA()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	certPEM, keyPEM, err := ca.serverCert()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	files := &brokerTLS{
		caFile:       filepath.Join(dir, "ca.pem"),
		certFile:     filepath.Join(dir, "server.pem"),
		keyFile:      filepath.Join(dir, "server.key"),
		passwordFile: filepath.Join(dir, "passwd"),
	}
	for _, f := range []struct {
		path string
		data []byte
	}{
		{files.caFile, ca.certPEM},
		{files.certFile, certPEM},
		{files.keyFile, keyPEM},
	} {
		if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
			t.Fatalf("testenv: writing TLS files: %v", err)
		}
	}
	m := &MosquittoTLS{
		CAFile:   files.caFile,
		CAPEM:    ca.certPEM,
		Username: "sunoye-test",
		Password: rand.Text(),
	}
	cmd := exec.Command(passwdBin, "-c", "-b", files.passwordFile, m.Username, m.Password)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testenv: making mosquitto password file: %v\n%s", err, out)
	}
	m.Mosquitto.init(t, files)
	return m
}

// URL returns the broker's MQTT-over-TLS URL, "ssl://127.0.0.1:PORT". It
// holds no credentials: clients pass Username and Password separately.
func (m *MosquittoTLS) URL() string { return m.Mosquitto.URL() }
