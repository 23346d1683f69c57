package rooms

import "time"

// MaxTextBytes is the largest message text, in bytes of UTF-8.
const MaxTextBytes = 4096

// Message is one chat message, as shown to the user.
type Message struct {
	ID     string    // unique; duplicates (QoS 1 redeliveries) are dropped by it
	Room   ID        //
	Sender MemberID  // who sent it; authenticated by the sender's signature
	Name   string    // the sender's display name
	Text   string    //
	Time   time.Time // the sender's clock
	Own    bool      // sent by this daemon
	// File is set for a message that carries a file (Text is then its
	// caption, maybe empty); Service.File returns its bytes.
	File *FileInfo
	// Mention is set on another member's message that mentions this
	// member (@name or @room; see Mentions).
	Mention bool
}
