package chatview

// The daemon and its window process talk over the window process's
// standard input (commands) and standard output (events), one JSON object
// a line. The pipes are the whole of the authentication: they exist only
// between the two processes, so no other local program can reach the
// window process, or hand it a page to show, without being able to read
// the daemon's memory anyway. There is no socket to connect to, and no
// token on a command line.

// Command is a line from the daemon to the window process.
type Command struct {
	Op string `json:"op"` // OpOpen or OpWarm
	// ID numbers an open; its Event carries it back.
	ID uint64 `json:"id,omitempty"`
	// Key names the window: one window per key.
	Key   string `json:"key,omitempty"`
	Title string `json:"title,omitempty"`
	// URL is where a new window goes; it carries a one-time token and is
	// ignored when the key's window is open (it comes to the front).
	URL string `json:"url,omitempty"`
}

// Commands. (Their end, at EOF, closes every window and ends the process.)
const (
	// OpOpen opens the window for Key, or brings it to the front.
	OpOpen = "open"
	// OpWarm readies the web engine for URL's origin (the chat UI's),
	// which the windows will show: the first window is then quicker.
	// It has no answer.
	OpWarm = "warm"
)

// Event is a line from the window process to the daemon.
type Event struct {
	Ev  string `json:"ev"`
	ID  uint64 `json:"id,omitempty"`
	Key string `json:"key,omitempty"`
	// Err says why an open failed.
	Err string `json:"err,omitempty"`
}

// Events.
const (
	// EvReady: the window process is up and takes commands.
	EvReady = "ready"
	// EvAccepted: the window process's main loop took OpOpen ID (it is
	// not hung); EvOpened or EvFailed follows.
	EvAccepted = "accepted"
	// EvOpened answers OpOpen ID: Key's window is on the screen.
	EvOpened = "opened"
	// EvFailed answers OpOpen ID: the window could not be made (Err).
	EvFailed = "failed"
	// EvClosed: the user closed Key's window.
	EvClosed = "closed"
)

// HostEnv, set in the window process's environment, tells it that it is
// the daemon's window host (and not started by hand).
const HostEnv = "SUNOYE_WINDOW_HOST"
