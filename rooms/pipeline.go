package rooms

import (
	"runtime"
	"sync"
)

// Receiving a burst on every core. Opening a message — decrypting it,
// verifying its signature, parsing its body — is most of what receiving
// costs, and needs nothing but the room key. While packets are queued
// behind the one delivered (Packet.Queued), a room's packets go through
// its pipeline: the Service's openers open the messages on up to
// GOMAXPROCS goroutines, and the room's admitter takes every packet in
// the order it came, waits for it to be opened, and handles it as a lone
// packet would be (de-duplication, marks, showing, acknowledgement): the
// rules of what is shown, when it is acknowledged and what never shows
// twice stay those of one packet at a time. A lone packet, with nothing
// behind it, is handled at once on the session's goroutine, and shown
// there too if no batch is being shown: no hand-off, the fast path for a
// chat's one message at a time. Our own messages' echoes are not opened
// at all: they are byte for byte what we sealed (room.echoOf). A room
// being left (or a daemon stopping) handles nothing more of its
// pipeline: not acknowledged, it comes again to the next session.

// pipelineLen bounds a room's packets in its pipeline: the session's
// delivery waits while it is full, which holds up the broker (see
// SessionConfig.Deliver).
const pipelineLen = 256

// inbound is a packet on its way through a room's pipeline.
type inbound struct {
	r       *room
	p       Packet
	handled func()
	// opened is closed once an opener has set sender, b and err; nil for
	// packets that are not opened ahead (presence, our own echoes).
	opened chan struct{}
	// known: sender and b are known without opening (our own echo).
	known  bool
	sender MemberID
	b      body
	err    error
}

// pipeline is a room's packets between the session and the admitter, in
// arrival order.
type pipeline struct {
	mu    sync.Mutex
	items []*inbound
	// admitting is set from the first push until the admitter finds
	// nothing left: meanwhile packets go through the pipeline, behind
	// the ones in it.
	admitting bool
	slots     chan struct{} // one per packet in the pipeline
}

func newPipeline() *pipeline { return &pipeline{slots: make(chan struct{}, pipelineLen)} }

// idle reports whether nothing is in the pipeline or being admitted. Only
// the session's goroutine pushes, so for it an idle pipeline stays idle.
func (p *pipeline) idle() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.admitting
}

// push appends in, waiting while the pipeline is full, and reports
// whether the caller must start an admitter.
func (p *pipeline) push(in *inbound) (start bool) {
	p.slots <- struct{}{}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.items = append(p.items, in)
	start = !p.admitting
	p.admitting = true
	return start
}

// next takes the oldest packet; with none left it ends the admitting and
// reports false.
func (p *pipeline) next() (*inbound, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.items) == 0 {
		p.admitting = false
		p.items = nil
		return nil, false
	}
	in := p.items[0]
	p.items[0] = nil
	p.items = p.items[1:]
	return in, true
}

// done frees the place of a packet handled.
func (p *pipeline) done() { <-p.slots }

// openers open message payloads for every room's pipeline, on up to
// GOMAXPROCS goroutines, which end when nothing is left to open.
type openers struct {
	mu     sync.Mutex
	queue  []*inbound
	active int
	max    int // GOMAXPROCS when the first job came
}

// submit queues in to be opened.
func (o *openers) submit(in *inbound) {
	o.mu.Lock()
	o.queue = append(o.queue, in)
	if o.max == 0 {
		o.max = runtime.GOMAXPROCS(0)
	}
	start := o.active < o.max
	if start {
		o.active++
	}
	o.mu.Unlock()
	if start {
		go o.work()
	}
}

func (o *openers) work() {
	for {
		o.mu.Lock()
		if len(o.queue) == 0 {
			o.active--
			o.queue = nil
			o.mu.Unlock()
			return
		}
		in := o.queue[0]
		o.queue[0] = nil
		o.queue = o.queue[1:]
		o.mu.Unlock()
		in.sender, in.b, in.err = openMessage(in.r, in.p.Payload)
		close(in.opened)
	}
}

// admit handles the packets of r's pipeline in order, until none is left.
func (s *Service) admit(r *room) {
	for {
		in, ok := r.pipe.next()
		if !ok {
			return
		}
		if in.opened != nil {
			<-in.opened
		}
		if !r.detaching() {
			s.handle(r, in, false)
		}
		// Else the room is being left or the daemon stops: not handled,
		// not acknowledged, as if still queued in the session; the
		// broker sends it again to the next session.
		r.pipe.done()
	}
}
