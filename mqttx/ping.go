package mqttx

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Ping connects to the broker once with a throw-away clean session and
// disconnects: the daemon calls it at start so that an unreachable broker
// or wrong credentials are reported then, naming the broker, rather than
// at the first join.
func (t *Transport) Ping(ctx context.Context) error {
	b := make([]byte, 8)
	rand.Read(b)
	o := t.baseOptions("sunoye-ping-" + hex.EncodeToString(b))
	o.SetCleanSession(true)
	o.SetAutoReconnect(false)
	c := mqtt.NewClient(o)
	if err := waitToken(ctx, c.Connect(), t.cfg.ConnectTimeout); err != nil {
		c.Disconnect(0)
		return connectError(t.url.redacted, err)
	}
	c.Disconnect(quiesce(ctx))
	return nil
}
