// Package testenv starts the real programs that SunOye's tests talk to:
// a mosquitto broker, a RabbitMQ cluster, a MariaDB server, a D-Bus
// session bus, an Xvfb X server, and it finds Chromium.
//
// Every program runs as a private child process of the test binary, on
// loopback, on a free port, with its files in a temporary directory; none
// is a system service, and none outlives the test (or, for the MariaDB
// server shared by a package's tests, the test binary) that started it.
//
// When a program is not installed, the test that needs it is skipped, or
// fails when the tests run under CI (CI=true), with a message that names
// the Debian package to install; see [NeedBinary].
//
// A package that uses [MariaDB] or [RabbitMQCluster] must run its tests
// through [Main]:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
package testenv
