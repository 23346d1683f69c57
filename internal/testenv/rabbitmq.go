package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// rabbitPackage provides RabbitMQ and its MQTT plugin.
const rabbitPackage = "rabbitmq-server"

// rabbitSbinGlob is where Debian puts the scripts that run a node as the
// calling user. The wrappers in /usr/sbin switch to the user rabbitmq
// when run as root, who could not read our temp dir.
const rabbitSbinGlob = "/usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin"

// rabbitNodes is the size of the shared cluster: the least that keeps a
// quorum (and so the persistent sessions) when one node dies.
const rabbitNodes = 3

// rabbitStartTimeout bounds a node's boot, which takes 10–25 s of CPU on
// an idle machine and much longer on a busy one.
const rabbitStartTimeout = 4 * time.Minute

// RabbitMQ is a cluster of RabbitMQ nodes on loopback, each with the MQTT
// plugin, persistent MQTT sessions in quorum queues replicated on every
// node (mqtt.durable_queue_type = quorum), and anonymous clients allowed.
// Clients on any node reach subscribers on every node; a session survives
// the death of the node it was on, and is resumed on another.
//
// Unlike the nodes of EMQX or HiveMQ, RabbitMQ's keep retained messages
// to themselves: a subscriber on one node does not get what was retained
// on another.
type RabbitMQ struct {
	dir   string
	sbin  string
	epmd  *process
	env   []string // shared by every node: HOME (the Erlang cookie), epmd
	nodes []*rabbitNode
}

// rabbitNode is one node of a RabbitMQ cluster.
type rabbitNode struct {
	c                            *RabbitMQ
	name                         string // rabbitN@localhost
	dir                          string
	mqttPort, amqpPort, distPort int

	mu   sync.Mutex
	proc *process // nil while stopped
}

// sharedRabbit is the package's cluster, started by the first test that
// asks for it and stopped by Main: a cluster takes half a minute to form.
var sharedRabbit struct {
	once sync.Once
	c    *RabbitMQ
	err  error
}

// RabbitMQCluster returns a cluster of three RabbitMQ nodes shared by all
// tests of the package: started by the first call (30–50 s: the first
// node boots, then the others together, joining it), stopped and removed
// by Main after all tests. Tests that kill a node must start it again
// (Restart) before they end, and must not run in parallel with other
// tests of the cluster.
//
// A missing RabbitMQ skips the test, or fails it under CI, like
// NeedBinary.
func RabbitMQCluster(t testing.TB) *RabbitMQ {
	t.Helper()
	sbin := needRabbitMQ(t)
	if !mainRunning.Load() {
		t.Fatal("testenv: RabbitMQCluster needs the package's TestMain to call testenv.Main(m), which stops the shared cluster")
	}
	sharedRabbit.once.Do(func() {
		start := time.Now()
		sharedRabbit.c, sharedRabbit.err = startRabbitMQ(sbin, rabbitNodes)
		if sharedRabbit.err == nil {
			onExit(sharedRabbit.c.stop)
			t.Logf("testenv: RabbitMQ cluster of %d nodes started in %v", rabbitNodes, time.Since(start).Round(100*time.Millisecond))
		}
	})
	if sharedRabbit.err != nil {
		t.Fatalf("testenv: starting the shared RabbitMQ cluster: %v", sharedRabbit.err)
	}
	for i := range sharedRabbit.c.nodes {
		if !sharedRabbit.c.Running(i) {
			t.Fatalf("testenv: RabbitMQ node %d was left stopped by an earlier test", i)
		}
	}
	return sharedRabbit.c
}

// needRabbitMQ returns the directory of RabbitMQ's scripts, or skips the
// test (fails it under CI) naming the package.
func needRabbitMQ(t testing.TB) string {
	t.Helper()
	dirs, _ := filepath.Glob(rabbitSbinGlob)
	sort.Strings(dirs)
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "rabbitmq-server")); err == nil {
			NeedBinary(t, "erl", rabbitPackage)
			NeedBinary(t, "epmd", rabbitPackage)
			return dirs[i]
		}
	}
	const format = "testenv: RabbitMQ is not installed (no %s/rabbitmq-server); install the Debian package %s (apt-get install -y %s)"
	if CI() {
		t.Fatalf(format, rabbitSbinGlob, rabbitPackage, rabbitPackage)
	} else {
		t.Skipf(format, rabbitSbinGlob, rabbitPackage, rabbitPackage)
	}
	return ""
}

// Nodes returns the number of nodes.
func (c *RabbitMQ) Nodes() int { return len(c.nodes) }

// URL returns node i's MQTT URL, "tcp://127.0.0.1:PORT" (i from 0).
func (c *RabbitMQ) URL(i int) string {
	return fmt.Sprintf("tcp://127.0.0.1:%d", c.nodes[i].mqttPort)
}

// URLs returns every node's MQTT URL, comma-separated, node first first
// and the others after it in order: a broker list as users type it, with
// each daemon's preferred node first.
func (c *RabbitMQ) URLs(first int) string {
	urls := make([]string, len(c.nodes))
	for k := range c.nodes {
		urls[k] = c.URL((first + k) % len(c.nodes))
	}
	return strings.Join(urls, ",")
}

// Running reports whether node i's process is running.
func (c *RabbitMQ) Running(i int) bool {
	n := c.nodes[i]
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.proc != nil
}

// Kill kills node i with SIGKILL, as a crash or a power cut: it closes
// nothing cleanly and tells the other nodes nothing.
func (c *RabbitMQ) Kill(t testing.TB, i int) {
	t.Helper()
	n := c.nodes[i]
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc == nil {
		t.Fatalf("testenv: RabbitMQ node %s is not running", n.name)
	}
	n.proc.cmd.Process.Signal(syscall.SIGKILL)
	<-n.proc.exited
	n.proc = nil
}

// Restart starts node i again, after Kill, on the same ports and data,
// and waits until it is back in the cluster and accepts MQTT clients.
func (c *RabbitMQ) Restart(t testing.TB, i int) {
	t.Helper()
	if c.Running(i) {
		t.Fatalf("testenv: RabbitMQ node %s is already running", c.nodes[i].name)
	}
	if err := c.nodes[i].start(); err != nil {
		t.Fatalf("testenv: restarting RabbitMQ: %v", err)
	}
	if err := c.nodes[i].waitReady(); err != nil {
		t.Fatalf("testenv: restarting RabbitMQ: %v", err)
	}
}

// RSS returns the resident memory of node i's Erlang VM, in bytes.
func (c *RabbitMQ) RSS(i int) (int64, error) {
	n := c.nodes[i]
	n.mu.Lock()
	p := n.proc
	n.mu.Unlock()
	if p == nil {
		return 0, fmt.Errorf("RabbitMQ node %s is not running", n.name)
	}
	return processRSS(p.cmd.Process.Pid)
}

// processRSS reads a process's resident set size from /proc.
func processRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// startRabbitMQ starts a cluster of n nodes in a new temp dir, retrying
// on fresh ports if one was taken meanwhile.
func startRabbitMQ(sbin string, n int) (*RabbitMQ, error) {
	for attempt := 1; ; attempt++ {
		dir, err := makeShortTempDir("rmq")
		if err != nil {
			return nil, err
		}
		c, err := startRabbitCluster(sbin, dir, n)
		if err == nil {
			return c, nil
		}
		os.RemoveAll(dir)
		if !errors.Is(err, errPortTaken) || attempt == 3 {
			return nil, err
		}
	}
}

// startRabbitCluster starts an epmd of its own and n nodes in dir. The
// nodes form the cluster from their configuration
// (classic_config peer discovery): no rabbitmqctl join_cluster, which
// would restart each joining node's application.
func startRabbitCluster(sbin, dir string, n int) (_ *RabbitMQ, err error) {
	c := &RabbitMQ{dir: dir, sbin: sbin}
	defer func() {
		if err != nil {
			c.stop()
		}
	}()
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, err
	}
	// Nodes and CLI tools find each other with this cookie.
	if err := os.WriteFile(filepath.Join(home, ".erlang.cookie"), []byte(rand.Text()), 0o400); err != nil {
		return nil, fmt.Errorf("writing the Erlang cookie: %w", err)
	}
	epmdPort, err := freePort()
	if err != nil {
		return nil, err
	}
	// An epmd of our own, on loopback only, so that the nodes neither
	// start one that outlives the tests nor register with the system's.
	c.epmd, err = startProcess("epmd", filepath.Join(dir, "epmd.log"),
		exec.Command("epmd", "-address", "127.0.0.1", "-port", strconv.Itoa(epmdPort)))
	if err != nil {
		return nil, err
	}
	if err := c.epmd.waitReady(readyTimeout, func() error { return dialTCP(fmt.Sprintf("127.0.0.1:%d", epmdPort)) }); err != nil {
		if c.epmd.addrInUse() {
			return nil, fmt.Errorf("%w: %w", errPortTaken, err)
		}
		return nil, err
	}
	c.env = []string{
		"HOME=" + home,
		"ERL_EPMD_ADDRESS=127.0.0.1",
		"ERL_EPMD_PORT=" + strconv.Itoa(epmdPort),
		"RABBITMQ_CONF_ENV_FILE=" + filepath.Join(dir, "no-rabbitmq-env.conf"),
	}
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("rabbit%d@localhost", i+1)
	}
	for i := range n {
		node := &rabbitNode{c: c, name: names[i], dir: filepath.Join(dir, "n"+strconv.Itoa(i+1))}
		for _, p := range []*int{&node.mqttPort, &node.amqpPort, &node.distPort} {
			if *p, err = freePort(); err != nil {
				return nil, err
			}
		}
		if err := node.writeConfig(names); err != nil {
			return nil, err
		}
		c.nodes = append(c.nodes, node)
	}
	// One node at a time, each once the one before answers MQTT: nodes
	// that boot at once may each find no peer up yet and form clusters
	// of their own, and two that join together race to add themselves
	// to the MQTT plugin's client-id registry (a Raft cluster; seen on a
	// loaded machine: the third node's registry never got a leader, and
	// it refused every client).
	for _, node := range c.nodes {
		if err := node.start(); err != nil {
			return nil, err
		}
		if err := node.waitReady(); err != nil {
			return nil, err
		}
	}
	if err := c.checkClustered(); err != nil {
		return nil, err
	}
	return c, nil
}

// checkClustered checks that every node runs in one cluster, as the first
// node sees it.
func (c *RabbitMQ) checkClustered() error {
	out, err := c.ctl("cluster_status", "--formatter", "json")
	if err != nil {
		return err
	}
	var st struct {
		Running []string `json:"running_nodes"`
	}
	if err := json.Unmarshal(out, &st); err != nil {
		return fmt.Errorf("rabbitmqctl cluster_status: %w: %s", err, out)
	}
	if len(st.Running) != len(c.nodes) {
		return fmt.Errorf("RabbitMQ cluster: %d nodes running together (%v), want %d", len(st.Running), st.Running, len(c.nodes))
	}
	return nil
}

// ctl runs rabbitmqctl against the first node and returns its output.
func (c *RabbitMQ) ctl(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), rabbitStartTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.sbin, "rabbitmqctl"), append([]string{"-n", c.nodes[0].name}, args...)...)
	cmd.Env = append(os.Environ(), c.env...)
	// The CLI's own Erlang node listens on loopback only, too.
	cmd.Env = append(cmd.Env, "RABBITMQ_CTL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("rabbitmqctl %s: %w: %s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out, nil
}

// writeConfig writes the node's rabbitmq.conf and enabled_plugins.
func (n *rabbitNode) writeConfig(cluster []string) error {
	for _, d := range []string{"mnesia", "log"} {
		if err := os.MkdirAll(filepath.Join(n.dir, d), 0o700); err != nil {
			return err
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "listeners.tcp.default = 127.0.0.1:%d\n", n.amqpPort)
	fmt.Fprintf(&b, "mqtt.listeners.tcp.default = 127.0.0.1:%d\n", n.mqttPort)
	// Persistent sessions in quorum queues, replicated on every node:
	// with the default classic queues a session dies with its node.
	b.WriteString("mqtt.durable_queue_type = quorum\n")
	b.WriteString("cluster_formation.peer_discovery_backend = classic_config\n")
	for i, name := range cluster {
		fmt.Fprintf(&b, "cluster_formation.classic_config.nodes.%d = %s\n", i+1, name)
	}
	if err := os.WriteFile(filepath.Join(n.dir, "rabbitmq.conf"), []byte(b.String()), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(n.dir, "enabled_plugins"), []byte("[rabbitmq_mqtt].\n"), 0o600)
}

// start starts the node's Erlang VM. RABBITMQ_ALLOW_INPUT makes the
// script exec the VM rather than run it in the background, so that the
// process started is the VM itself: signals reach it, and it dies with
// the test binary; -noinput keeps it from reading stdin all the same.
func (n *rabbitNode) start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	cmd := exec.Command(filepath.Join(n.c.sbin, "rabbitmq-server"))
	cmd.Env = append(os.Environ(), n.c.env...)
	cmd.Env = append(cmd.Env,
		"RABBITMQ_NODENAME="+n.name,
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		"RABBITMQ_NODE_PORT="+strconv.Itoa(n.amqpPort),
		"RABBITMQ_DIST_PORT="+strconv.Itoa(n.distPort),
		"RABBITMQ_MNESIA_BASE="+filepath.Join(n.dir, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(n.dir, "log"),
		"RABBITMQ_LOGS=-",
		"RABBITMQ_CONFIG_FILE="+filepath.Join(n.dir, "rabbitmq.conf"),
		// Not the system's /etc/rabbitmq/advanced.config, if any.
		"RABBITMQ_ADVANCED_CONFIG_FILE="+filepath.Join(n.dir, "advanced.config"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(n.dir, "enabled_plugins"),
		"RABBITMQ_PID_FILE="+filepath.Join(n.dir, "pid"),
		"RABBITMQ_ALLOW_INPUT=true",
		"RABBITMQ_SERVER_START_ARGS=-noinput",
		// Erlang distribution on loopback only (it listens everywhere by
		// default).
		"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}",
	)
	p, err := startProcess("RabbitMQ "+n.name, filepath.Join(n.dir, "rabbit.log"), cmd)
	if err != nil {
		return err
	}
	n.proc = p
	return nil
}

// waitReady waits until the node answers an MQTT CONNECT; its MQTT
// listener opens last, once it has joined the cluster.
func (n *rabbitNode) waitReady() error {
	n.mu.Lock()
	p := n.proc
	n.mu.Unlock()
	if p == nil {
		return fmt.Errorf("RabbitMQ node %s is not running", n.name)
	}
	err := p.waitReady(rabbitStartTimeout, func() error {
		return mqttHandshake(fmt.Sprintf("127.0.0.1:%d", n.mqttPort))
	})
	if err != nil && p.addrInUse("eaddrinuse") {
		return fmt.Errorf("%w: %w", errPortTaken, err)
	}
	return err
}

// mqttHandshake connects to the MQTT broker at addr with a clean session,
// checks that it accepts, and disconnects.
func mqttHandshake(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	id := "testenv-ready"
	// CONNECT, MQTT 3.1.1, clean session, keep-alive 0, client id only.
	body := []byte{0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 0, 0, byte(len(id))}
	body = append(body, id...)
	pkt := append([]byte{0x10, byte(len(body))}, body...)
	if _, err := conn.Write(pkt); err != nil {
		return err
	}
	ack := make([]byte, 4)
	if _, err := io.ReadFull(conn, ack); err != nil {
		return fmt.Errorf("no CONNACK: %w", err)
	}
	if !bytes.Equal(ack, []byte{0x20, 2, 0, 0}) {
		return fmt.Errorf("CONNACK %x", ack)
	}
	conn.Write([]byte{0xE0, 0}) // DISCONNECT
	return nil
}

// stop stops every node at once (one by one, each would wait for the
// others to notice), then epmd, and removes the cluster's files.
func (c *RabbitMQ) stop() {
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		wg.Go(func() {
			n.mu.Lock()
			defer n.mu.Unlock()
			if n.proc != nil {
				n.proc.stop()
				n.proc = nil
			}
		})
	}
	wg.Wait()
	if c.epmd != nil {
		c.epmd.stop()
	}
	os.RemoveAll(c.dir)
}
