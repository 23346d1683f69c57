package mqttx

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"
)

// mosquittoPub publishes payload with QoS 1 to topic through the
// mosquitto_pub command, a client that shares no code with this package.
func mosquittoPub(t *testing.T, addr, topic string, payload []byte) {
	t.Helper()
	if err := tryMosquittoPub(addr, topic, payload); err != nil {
		t.Fatal(err)
	}
}

func tryMosquittoPub(addr, topic string, payload []byte) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	c, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	args := []string{"-h", host, "-p", port, "-q", "1", "-t", topic, "-s"}
	if len(payload) == 0 {
		args = []string{"-h", host, "-p", port, "-q", "1", "-t", topic, "-n"}
	}
	cmd := exec.CommandContext(c, "mosquitto_pub", args...)
	cmd.Stdin = bytes.NewReader(payload)
	cmd.WaitDelay = time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("mosquitto_pub -t %s (%d bytes): %v: %s", topic, len(payload), err, out)
	}
	return nil
}
