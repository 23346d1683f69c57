package testenv

import (
	"io"
	"net"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Proxy is a TCP proxy on loopback in front of a server. A test can Cut
// it, to simulate a network blip, and Heal it again.
//
// While cut, the proxy accepts new connections but holds them: it neither
// forwards nor closes them until Heal. So a client that reconnects during
// the blip sees its connection attempt hang, as on a real network, and is
// connected as soon as the network heals, rather than backing off after a
// refusal and making the test wait for its retry timer.
type Proxy struct {
	target string
	ln     net.Listener
	done   chan struct{} // closed when the test ends
	wg     sync.WaitGroup

	mu     sync.Mutex
	healed chan struct{}         // closed while not cut
	conns  map[net.Conn]struct{} // both ends of every forwarded connection
}

// StartProxy starts a proxy on 127.0.0.1, on a free port, that forwards
// connections to target (host:port). The proxy is closed, with all its
// connections, when the test ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: starting proxy: %v", err)
	}
	p := &Proxy{
		target: target,
		ln:     ln,
		done:   make(chan struct{}),
		healed: make(chan struct{}),
		conns:  make(map[net.Conn]struct{}),
	}
	close(p.healed)
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

// Addr returns the address clients connect to, "127.0.0.1:PORT".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every connection through the proxy and holds new ones until
// Heal. Cutting a cut proxy does nothing more.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.healed:
		p.healed = make(chan struct{})
	default:
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// Heal lets connections through again, the held ones first.
func (p *Proxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.healed:
	default:
		close(p.healed)
	}
}

func (p *Proxy) close() {
	close(p.done)
	p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			select {
			case <-p.done:
				return
			default:
			}
			// Out of file descriptors, say: wait rather than spin.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		p.wg.Add(1)
		go p.forward(c)
	}
}

// forward waits until the proxy is healed, connects to the target and
// copies both ways until either side closes or the proxy is cut.
func (p *Proxy) forward(c net.Conn) {
	defer p.wg.Done()
	var up net.Conn
	for up == nil {
		p.mu.Lock()
		healed := p.healed
		p.mu.Unlock()
		select {
		case <-healed:
		case <-p.done:
			c.Close()
			return
		}
		var err error
		up, err = net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			// The server is down: pass that on as a closed connection.
			c.Close()
			return
		}
		p.mu.Lock()
		if healed != p.healed {
			// Cut while we dialed: this connection must wait too.
			up.Close()
			up = nil
		} else {
			p.conns[c] = struct{}{}
			p.conns[up] = struct{}{}
		}
		p.mu.Unlock()
	}
	select {
	case <-p.done:
		// close ran before we registered; it did not see these.
		c.Close()
		up.Close()
		return
	default:
	}

	var once sync.Once
	closeBoth := func() {
		once.Do(func() {
			c.Close()
			up.Close()
			p.mu.Lock()
			delete(p.conns, c)
			delete(p.conns, up)
			p.mu.Unlock()
		})
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		io.Copy(up, c)
		closeBoth()
	}()
	io.Copy(c, up)
	closeBoth()
}

// SameOriginProxy returns a reverse proxy to the web server at origin
// ("http://127.0.0.1:PORT") that forwards every request as if it had been
// sent to that server itself: the Host and, where there is one, the
// Origin are the server's, so a server that checks them (SunOye's chat
// UI) serves a page loaded through the proxy. Answers are flushed as they
// come (event streams).
func SameOriginProxy(t testing.TB, origin string) *httputil.ReverseProxy {
	t.Helper()
	target, err := url.Parse(origin)
	if err != nil {
		t.Fatalf("testenv: proxy to %q: %v", origin, err)
	}
	return &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			if r.In.Header.Get("Origin") != "" {
				r.Out.Header.Set("Origin", origin)
			}
		},
		FlushInterval: -1,
	}
}
