package mqttx

import (
	"testing"

	"github.com/sunoye/sunoye/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// startMosquitto starts a mosquitto for one test (skipped, or failed under
// CI=true, when mosquitto is not installed).
func startMosquitto(t *testing.T) testBroker { return testenv.StartMosquitto(t) }

// startProxy starts a TCP proxy to target that a test can Cut, as a
// network failure would, and Heal.
func startProxy(t *testing.T, target string) *testenv.Proxy { return testenv.StartProxy(t, target) }
