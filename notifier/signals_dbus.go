//go:build linux || freebsd || netbsd || openbsd || dragonfly

package notifier

import "github.com/godbus/dbus/v5"

// listen handles the signals of connection bc until it closes.
func (n *Notifier) listen(bc *busConn) {
	defer n.listeners.Done()
	for sig := range bc.signals {
		n.handle(bc, sig)
	}
	// The bus went away (or Close closed the connection, which dropBus
	// then finds already forgotten).
	if n.dropBus(bc) {
		n.status.off(condNoBus, "err", "lost the connection to the session bus")
	}
}

// handle acts on one signal. Signals for notifications that are not ours,
// or that do not come from the server we talk to, are ignored: anyone on
// the bus can send a signal.
func (n *Notifier) handle(bc *busConn, ds *dbus.Signal) {
	name := ds.Name
	if name == busDaemon+".NameOwnerChanged" {
		var owned, oldOwner, newOwner string
		if ds.Sender != busDaemon || dbus.Store(ds.Body, &owned, &oldOwner, &newOwner) != nil || owned != fdoName {
			return
		}
		n.serverGone(bc)
		if newOwner == "" {
			n.status.off(condNoServer)
		}
		// A new owner is asked with the next message, which logs it.
		return
	}

	var sig signal
	var err error
	switch name {
	case fdoIface + ".ActionInvoked":
		var key string
		err = dbus.Store(ds.Body, &sig.id, &key)
		if key != "default" {
			return // "inline-reply" comes as NotificationReplied
		}
		sig.kind = sigClicked
	case fdoIface + ".NotificationReplied":
		err = dbus.Store(ds.Body, &sig.id, &sig.text)
		sig.kind = sigReplied
	case fdoIface + ".NotificationClosed":
		var reason uint32
		err = dbus.Store(ds.Body, &sig.id, &reason)
		sig.kind = sigClosed
	default:
		return
	}
	if err != nil {
		n.log.Debug("malformed notification signal", "signal", name, "err", err)
		return
	}
	sig.seq = uint64(ds.Sequence)

	n.mu.Lock()
	defer n.mu.Unlock()
	if n.bus != bc || n.server == nil || ds.Sender != n.server.owner {
		return
	}
	for _, sig := range n.shown.handle(sig) {
		n.act(sig)
	}
	n.log.Debug("notification signal", "signal", name, "id", sig.id)
}

// act passes a click or reply on to the daemon. The caller holds n.mu.
func (n *Notifier) act(sig signal) {
	room, text := sig.room, sig.text
	n.log.Debug("notification acted on", "room", room, "id", sig.id)
	switch sig.kind {
	case sigClicked:
		if open := n.opt.OnOpen; open != nil {
			n.callback("click", func() { open(room) })
		}
	case sigReplied:
		if reply := n.opt.OnReply; reply != nil {
			n.callback("reply", func() { reply(room, text) })
		}
	}
}
