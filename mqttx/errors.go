package mqttx

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/sunoye/sunoye/rooms"
)

// Errors that callers tell apart with errors.Is. The errors returned by
// Open and Close wrap them, after the broker's URL (password removed) and
// before the underlying cause.
var (
	// ErrUnreachable: no MQTT connection could be made (connection refused,
	// timeout, name resolution, TLS handshake, WebSocket upgrade, broker
	// unavailable …). It also matches rooms.ErrUnavailable.
	ErrUnreachable error = &kindError{"unreachable", rooms.ErrUnavailable}
	// ErrBadCredentials: the broker refused the connection for its user
	// name or password (MQTT 3.1.1 return codes 4 and 5: brokers answer
	// a wrong password with either).
	ErrBadCredentials = errors.New("bad user name or password")
	// ErrNotAuthorized: the broker refused a subscription.
	ErrNotAuthorized = errors.New("not authorized")
	// ErrRefused: the broker refused the connection for another reason
	// (client id rejected, server unavailable, protocol version).
	ErrRefused = errors.New("refused")
	// ErrClosed: the session was closed.
	ErrClosed = errors.New("session closed")
)

// connectError turns the error of a Paho connect token into one that names
// the broker and says what went wrong in words a user can act on.
func connectError(broker string, err error) error {
	switch {
	case errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword):
		return fmt.Errorf("broker %s: %w", broker, ErrBadCredentials)
	case errors.Is(err, packets.ErrorRefusedNotAuthorised):
		// Mosquitto, among others, answers a wrong password so.
		return fmt.Errorf("broker %s: %w (the broker said: not authorized)", broker, ErrBadCredentials)
	case errors.Is(err, packets.ErrorRefusedServerUnavailable):
		return fmt.Errorf("broker %s: %w: %w", broker, ErrUnreachable, err)
	case errors.Is(err, packets.ErrorRefusedIDRejected),
		errors.Is(err, packets.ErrorRefusedBadProtocolVersion):
		return fmt.Errorf("broker %s: %w: %w", broker, ErrRefused, err)
	}
	cause := networkCause(err)
	var (
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		verify    *tls.CertificateVerificationError
	)
	switch {
	case errors.As(cause, &unknownCA):
		return fmt.Errorf("broker %s: %w: TLS: %w (for a private CA, give its certificate as the CA file)",
			broker, ErrUnreachable, cause)
	case errors.As(cause, &hostname), errors.As(cause, &verify):
		return fmt.Errorf("broker %s: %w: TLS: %w", broker, ErrUnreachable, cause)
	case errors.Is(err, mqtt.ErrNotConnected):
		return fmt.Errorf("broker %s: %w: %w", broker, ErrUnreachable, err)
	}
	return fmt.Errorf("broker %s: %w: %w", broker, ErrUnreachable, cause)
}

// networkCause strips Paho's "network Error : " wrapping, which says
// nothing that ErrUnreachable does not, keeping the dial error it wraps.
func networkCause(err error) error {
	if !errors.Is(err, packets.ErrorNetworkError) {
		return err
	}
	if m, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range m.Unwrap() {
			if e != nil && !errors.Is(e, packets.ErrorNetworkError) {
				return e
			}
		}
	}
	return err
}

// kindError is a sentinel error that also matches a more general one, so
// that callers who only know the domain's errors can recognise it.
type kindError struct {
	msg string
	is  error
}

func (e *kindError) Error() string { return e.msg }

func (e *kindError) Is(target error) bool { return target == e.is }
