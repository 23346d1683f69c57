package notifier

import "context"

// ServerInfo names how notifications are shown on this system.
func ServerInfo(context.Context) (string, error) {
	return "Windows toasts (a click opens the room; Reply sends)", nil
}
