package mqttx

import (
	"context"
	"fmt"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// discard makes the broker drop the persistent session of clientID: MQTT
// has no command for it, but a connection with the same client id and a
// clean session replaces the old session, and a clean session ends with
// its connection. The connection carries no Will.
func (t *Transport) discard(ctx context.Context, clientID string) error {
	o := t.baseOptions(clientID)
	o.SetCleanSession(true)
	o.SetAutoReconnect(false)
	c := mqtt.NewClient(o)
	if err := waitToken(ctx, c.Connect(), t.cfg.ConnectTimeout); err != nil {
		c.Disconnect(0)
		return fmt.Errorf("discard the broker-side session: %w", connectError(t.url.redacted, err))
	}
	c.Disconnect(quiesce(ctx))
	t.logger.Debug("broker-side session discarded", "client", clientID)
	return nil
}
