package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// galeraPackage provides the Galera replication library that MariaDB loads
// as its wsrep provider. Debian's mariadb-server depends on it.
const galeraPackage = "galera-4"

// galeraProviders are where distributions install the library.
var galeraProviders = []string{
	"/usr/lib/galera/libgalera_smm.so",     // Debian, Ubuntu
	"/usr/lib/libgalera_smm.so",            // Debian, the real file
	"/usr/lib64/galera-4/libgalera_smm.so", // Fedora, RHEL
	"/usr/lib64/galera/libgalera_smm.so",
}

// galeraSyncTimeout bounds how long a node may take to join the cluster and
// catch up with it. A join runs the rsync state-transfer script, which
// takes a few seconds on a busy machine.
const galeraSyncTimeout = 90 * time.Second

// Galera is a MariaDB Galera cluster of private nodes on loopback: every
// node accepts reads and writes, and a transaction committed on one is
// replicated synchronously to the others, or fails certification with a
// deadlock error (1213) if it conflicts with one committed elsewhere first.
type Galera struct {
	nodes     []*MariaDBServer
	databases atomic.Int64 // numbers the databases of NewDatabase
}

// galeraNode is the addresses of one node besides its SQL port.
type galeraNode struct {
	gcomm, ist, sst int // group communication, incremental and full state transfer
}

// StartGalera starts a Galera cluster of n MariaDB nodes (n ≥ 2) and waits
// until every node is synced with all n and ready for clients. Every node
// has the database "sunoye" and the account that DSNs name. The cluster is
// stopped and removed when the test ends.
//
// A missing galera library, mariadbd or rsync skips the test, or fails it
// under CI, like NeedBinary.
//
// To start quickly and the same way as root or not, the nodes do not
// receive a full state transfer: the first node is bootstrapped once to
// create the account and the database, stopped, and its datadir copied to
// the others, which then join with an incremental state transfer of the
// few events the cluster has had since. That is the procedure Galera
// documents for provisioning nodes from a copy of a stopped node.
func StartGalera(t testing.TB, n int) *Galera {
	t.Helper()
	if n < 2 {
		t.Fatalf("testenv: StartGalera: %d nodes; a cluster needs at least 2", n)
	}
	bins := needMariaDB(t)
	provider := needGaleraProvider(t)
	// The state-transfer script that even an incremental transfer runs
	// (wsrep_sst_rsync, from mariadb-server) and the rsync it calls.
	NeedBinary(t, "wsrep_sst_rsync", "mariadb-server")
	NeedBinary(t, "rsync", "rsync")

	g, err := startGaleraRetrying(bins, provider, shortTempDir(t, "gal"), n)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(g.stop)
	return g
}

// sharedGalera is the three-node cluster that SharedGalera hands out,
// started by the first test that needs it and stopped by Main: a cluster
// takes seconds to start.
var sharedGalera struct {
	once sync.Once
	g    *Galera
	err  error
}

// SharedGalera returns a Galera cluster of three nodes shared by all the
// tests of the package, started by the first call and stopped, with its
// data removed, by Main after all tests. A test that kills, stops or
// freezes a node must bring it back (Restart, Thaw) before it ends, for
// the next test; tests that do so must not run in parallel with others
// on the cluster. Each test makes its own database (NewDatabase).
func SharedGalera(t testing.TB) *Galera {
	t.Helper()
	bins := needMariaDB(t)
	provider := needGaleraProvider(t)
	NeedBinary(t, "wsrep_sst_rsync", "mariadb-server")
	NeedBinary(t, "rsync", "rsync")
	if !mainRunning.Load() {
		t.Fatal("testenv: SharedGalera needs the package's TestMain to call testenv.Main(m), which stops the cluster")
	}
	sharedGalera.once.Do(func() {
		dir, err := makeShortTempDir("gal")
		if err != nil {
			sharedGalera.err = err
			return
		}
		g, err := startGaleraRetrying(bins, provider, dir, 3)
		if err != nil {
			os.RemoveAll(dir)
			sharedGalera.err = err
			return
		}
		sharedGalera.g = g
		onExit(func() {
			g.stop()
			os.RemoveAll(dir)
		})
	})
	if sharedGalera.err != nil {
		t.Fatalf("testenv: starting the shared Galera cluster: %v", sharedGalera.err)
	}
	// What an earlier test left: every node back and synced.
	for i, s := range sharedGalera.g.nodes {
		if err := waitSynced(s, len(sharedGalera.g.nodes)); err != nil {
			t.Fatalf("testenv: shared Galera node %d: %v", i, err)
		}
	}
	return sharedGalera.g
}

// startGaleraRetrying starts a cluster of n nodes in a directory of dir,
// again on other ports if a port was taken meanwhile.
func startGaleraRetrying(bins mariadbBins, provider, dir string, n int) (*Galera, error) {
	for attempt := 1; ; attempt++ {
		g, err := startGalera(bins, provider, filepath.Join(dir, strconv.Itoa(attempt)), n)
		if err == nil {
			return g, nil
		}
		if !errors.Is(err, errPortTaken) || attempt == 3 {
			return nil, fmt.Errorf("starting a Galera cluster of %d nodes: %w", n, err)
		}
	}
}

// HostList returns the DSN dsns[order[0]] with the hosts of dsns listed
// in the given order, "mysql://USER:PASSWORD@H1:P1,H2:P2,.../DB": the DSNs
// must be those of one database on several servers (NewDatabase's), as a
// daemon that knows every node of a cluster is given.
func HostList(t testing.TB, dsns []string, order ...int) string {
	t.Helper()
	hosts := make([]string, len(order))
	var first *url.URL
	for k, i := range order {
		u, err := url.Parse(dsns[i])
		if err != nil {
			t.Fatalf("testenv: HostList: DSN %d: %v", i, err)
		}
		if k == 0 {
			first = u
		}
		hosts[k] = u.Host
	}
	first.Host = strings.Join(hosts, ",")
	return first.String()
}

// Node returns node i, to kill, freeze or stop it.
func (g *Galera) Node(i int) *MariaDBServer { return g.nodes[i] }

// Restart starts node i again after Kill or Stop, and waits until it has
// rejoined the cluster and caught up (an incremental state transfer from
// another node) and every node is synced with all of them.
func (g *Galera) Restart(t testing.TB, i int) {
	t.Helper()
	s := g.nodes[i]
	s.mu.Lock()
	running := s.proc != nil
	s.mu.Unlock()
	if running {
		t.Fatalf("testenv: Galera node %d is running", i)
	}
	// A node that was killed does not know how far it got (grastate.dat
	// says seqno -1), and would ask for a full state transfer; recovered
	// from its InnoDB log, as the galera_recovery script does before
	// systemd starts a node, its position lets it catch up from another
	// node's write-set cache instead.
	pos, err := s.recoverPosition()
	if err != nil {
		t.Fatalf("testenv: Galera node %d: %v", i, err)
	}
	extra := s.extra
	s.extra = append(slices.Clip(extra), "--wsrep-start-position="+pos)
	s.startTimeout = galeraSyncTimeout
	err = s.start()
	s.extra = extra
	if err != nil {
		t.Fatalf("testenv: Galera node %d: %v", i, err)
	}
	g.WaitSynced(t)
}

// WaitSynced waits until every node is synced with all of them: after
// Restart, or after a frozen node was thawed and has rejoined.
func (g *Galera) WaitSynced(t testing.TB) {
	t.Helper()
	for j, s := range g.nodes {
		if err := waitSynced(s, len(g.nodes)); err != nil {
			t.Fatalf("testenv: Galera node %d: %v", j, err)
		}
	}
}

// recoverPosition returns the last transaction the stopped node s
// committed, "UUID:SEQNO", read by mariadbd --wsrep-recover.
func (s *MariaDBServer) recoverPosition() (string, error) {
	args := append(s.serverOptions(), s.extra...)
	args = append(args, "--wsrep-recover", "--disable-log-error")
	out, err := exec.Command(s.bin, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("mariadbd --wsrep-recover: %w\n%s", err, out)
	}
	const marker = "WSREP: Recovered position:"
	for line := range strings.Lines(string(out)) {
		if _, pos, ok := strings.Cut(line, marker); ok {
			return strings.TrimSpace(pos), nil
		}
	}
	return "", fmt.Errorf("mariadbd --wsrep-recover did not say %q:\n%s", marker, out)
}

// Size returns the cluster size that node i reports, 0 if it does not
// answer.
func (g *Galera) Size(i int) int {
	db, err := g.nodes[i].rootDB()
	if err != nil {
		return 0
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT variable_value FROM information_schema.global_status WHERE variable_name = 'wsrep_cluster_size'").Scan(&n); err != nil {
		return 0
	}
	return n
}

// Nodes returns the number of nodes.
func (g *Galera) Nodes() int { return len(g.nodes) }

// DSN returns the DSN of the database "sunoye" on node i (from 0), in the
// form "mysql://USER:PASSWORD@127.0.0.1:PORT/sunoye".
func (g *Galera) DSN(i int) string { return g.nodes[i].DSN() }

// NewDatabase creates an empty database on the cluster (one statement on
// node 0, which Galera runs on every node) and returns its DSN on each
// node, once every node has it. Its name is name with a number that makes
// it new: tests may run again (-count) on a shared cluster.
func (g *Galera) NewDatabase(t testing.TB, name string) []string {
	t.Helper()
	name = fmt.Sprintf("%s_%d", name, g.databases.Add(1))
	if err := g.nodes[0].createDatabase(name); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	dsns := make([]string, len(g.nodes))
	for i, s := range g.nodes {
		err := s.waitNode(galeraSyncTimeout, func(ctx context.Context, db *sql.DB) error {
			var n int
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?", name).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("node %d does not have database %s yet", i, name)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("testenv: %v", err)
		}
		dsns[i] = s.dsn(name)
	}
	return dsns
}

// stop stops every node, all at once: nodes that leave one by one each
// wait for the others to agree on a new membership.
func (g *Galera) stop() {
	var wg sync.WaitGroup
	for _, s := range g.nodes {
		wg.Go(s.stop)
	}
	wg.Wait()
}

// needGaleraProvider returns the path of the Galera library, or skips the
// test (fails it under CI) naming the package, as NeedBinary does.
func needGaleraProvider(t testing.TB) string {
	t.Helper()
	for _, p := range galeraProviders {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	const format = "testenv: the Galera library libgalera_smm.so is not in %s; install the Debian package %s (apt-get install -y %s)"
	if CI() {
		t.Fatalf(format, strings.Join(galeraProviders, ", "), galeraPackage, galeraPackage)
	} else {
		t.Skipf(format, strings.Join(galeraProviders, ", "), galeraPackage, galeraPackage)
	}
	return ""
}

// startGalera starts a cluster of n nodes in dir, on fresh ports. Its error
// wraps errPortTaken if a node could not listen on one of them.
func startGalera(bins mariadbBins, provider, dir string, n int) (g *Galera, err error) {
	g = new(Galera)
	addrs := make([]galeraNode, n)
	for i := range n {
		s := &MariaDBServer{bin: bins.mariadbd, dir: filepath.Join(dir, "n"+strconv.Itoa(i)), database: "sunoye"}
		ports := make([]int, 4)
		for j := range ports {
			if ports[j], err = freePort(); err != nil {
				return nil, err
			}
		}
		s.port = ports[0]
		addrs[i] = galeraNode{gcomm: ports[1], ist: ports[2], sst: ports[3]}
		if err := os.MkdirAll(s.dir, 0o700); err != nil {
			return nil, fmt.Errorf("making node dir: %w", err)
		}
		g.nodes = append(g.nodes, s)
	}
	defer func() {
		if err != nil {
			g.stop()
		}
	}()
	peers := make([]string, n)
	for i, a := range addrs {
		peers[i] = fmt.Sprintf("127.0.0.1:%d", a.gcomm)
	}
	cluster := "gcomm://" + strings.Join(peers, ",")
	// A name of its own, so that a node never joins another test's
	// cluster through a port that was reused.
	name := "testenv-" + filepath.Base(filepath.Dir(dir)) + "-" + filepath.Base(dir)
	for i, s := range g.nodes {
		s.extra = wsrepOptions(provider, name, cluster, i, addrs[i])
	}

	// The seed: node 0 alone, to create the account and the database in a
	// state that has a cluster identity (grastate.dat) the copies share.
	seed := g.nodes[0]
	seed.password = rand.Text()
	if err := seed.install(bins.installDB); err != nil {
		return nil, err
	}
	seedExtra := seed.extra
	seed.extra = append(wsrepOptions(provider, name, "gcomm://", 0, addrs[0]), "--wsrep-new-cluster")
	if err := seed.start(); err != nil {
		return nil, err
	}
	if err := waitSynced(seed, 1); err != nil {
		return nil, err
	}
	if err := seed.createAdmin(); err != nil {
		return nil, err
	}
	if err := seed.createDatabase(seed.database); err != nil {
		return nil, err
	}
	seed.stop() // a clean shutdown records the position in grastate.dat
	for _, s := range g.nodes[1:] {
		s.password = seed.password
		if err := copyDatadir(filepath.Join(seed.dir, "data"), filepath.Join(s.dir, "data")); err != nil {
			return nil, err
		}
	}
	if err := openToRsync(dir, g.nodes); err != nil {
		return nil, err
	}

	// The cluster: node 0 bootstraps it from the seed's state, the others
	// join one at a time (joining together, they would each wait for the
	// membership to settle again).
	seed.extra = slices.Concat(seedExtra, []string{"--wsrep-new-cluster"})
	if err := seed.start(); err != nil {
		return nil, err
	}
	seed.extra = seedExtra // were node 0 started again, it would join
	if err := waitSynced(seed, 1); err != nil {
		return nil, err
	}
	for i, s := range g.nodes[1:] {
		// A joining node opens its socket once the state transfer is
		// done, so start waits for that.
		s.startTimeout = galeraSyncTimeout
		if err := s.start(); err != nil {
			return nil, err
		}
		if err := waitSynced(s, i+2); err != nil {
			return nil, err
		}
	}
	for _, s := range g.nodes {
		if err := waitSynced(s, n); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// wsrepOptions returns the mariadbd options that make node i a Galera node
// of the named cluster, listening on loopback at a.
func wsrepOptions(provider, name, cluster string, i int, a galeraNode) []string {
	providerOptions := []string{
		fmt.Sprintf("gmcast.listen_addr=tcp://127.0.0.1:%d", a.gcomm),
		fmt.Sprintf("ist.recv_addr=127.0.0.1:%d", a.ist),
		// The write-set cache that incremental transfers are served
		// from; the default preallocates 128 MB per node.
		"gcache.size=16M",
	}
	return []string{
		"--wsrep-on=ON",
		"--wsrep-provider=" + provider,
		"--wsrep-cluster-name=" + name,
		"--wsrep-cluster-address=" + cluster,
		"--wsrep-node-name=node" + strconv.Itoa(i),
		"--wsrep-node-address=127.0.0.1",
		"--wsrep-provider-options=" + strings.Join(providerOptions, ";"),
		"--wsrep-sst-method=rsync",
		fmt.Sprintf("--wsrep-sst-receive-address=127.0.0.1:%d", a.sst),
		// What Galera requires of every node.
		"--binlog-format=ROW",
		"--innodb-autoinc-lock-mode=2",
		"--default-storage-engine=InnoDB",
	}
}

// waitSynced waits until node s is synced with a primary component of size
// members and ready for clients.
func waitSynced(s *MariaDBServer, size int) error {
	return s.waitNode(galeraSyncTimeout, func(ctx context.Context, db *sql.DB) error {
		rows, err := db.QueryContext(ctx, `SELECT LOWER(variable_name), variable_value FROM information_schema.global_status
			WHERE variable_name IN ('wsrep_cluster_size', 'wsrep_cluster_status', 'wsrep_local_state_comment', 'wsrep_ready')`)
		if err != nil {
			return err
		}
		defer rows.Close()
		st := make(map[string]string)
		for rows.Next() {
			var k, v string
			if err := rows.Scan(&k, &v); err != nil {
				return err
			}
			st[k] = v
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if st["wsrep_cluster_size"] != strconv.Itoa(size) || st["wsrep_cluster_status"] != "Primary" ||
			st["wsrep_local_state_comment"] != "Synced" || st["wsrep_ready"] != "ON" {
			return fmt.Errorf("want a synced node in a primary component of %d; wsrep status %v", size, st)
		}
		return nil
	})
}

// waitNode polls ready, with a connection pool to the running node s as
// root, until it succeeds, the node exits, or timeout passes. The error
// says which, with the tail of the node's log, and wraps errPortTaken if
// the node exited because a port was taken (Galera's listeners and the
// state transfer's rsync daemon bind theirs only now).
func (s *MariaDBServer) waitNode(timeout time.Duration, ready func(ctx context.Context, db *sql.DB) error) error {
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p == nil {
		return fmt.Errorf("mariadbd on port %d is not running", s.port)
	}
	err := p.waitReady(timeout, func() error {
		db, err := s.rootDB()
		if err != nil {
			return err
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return ready(ctx, db)
	})
	if err != nil && p.addrInUse() {
		return fmt.Errorf("%w: %w", errPortTaken, err)
	}
	return err
}

// copyDatadir copies the seed's datadir for another node, without the
// seed's write-set cache, which each node makes for itself.
func copyDatadir(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o700)
		case rel == "galera.cache" || rel == "gvwstate.dat":
			return nil
		case !d.Type().IsRegular():
			return fmt.Errorf("copying datadir: %s is not a regular file", path)
		}
		return copyFile(path, target)
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copying %s: %w", src, err)
	}
	return out.Close()
}

// openToRsync lets a state transfer write into the nodes' datadirs when
// the tests run as root. Even an incremental transfer makes the donor send
// a file with rsync to an rsync daemon that the joining node starts; run by
// root, that daemon drops to the user nobody, who could not otherwise
// enter our private temp dir or write in the datadir (real nodes run as
// the user mysql, who owns the datadir). As another user, the daemon runs
// as that user and nothing needs changing.
func openToRsync(dir string, nodes []*MariaDBServer) error {
	if os.Geteuid() != 0 {
		return nil
	}
	// The directories above a datadir: enter, not list.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o711); err != nil {
			return err
		}
	}
	for _, s := range nodes {
		if err := os.Chmod(s.dir, 0o711); err != nil {
			return err
		}
		if err := os.Chmod(filepath.Join(s.dir, "data"), 0o777); err != nil {
			return err
		}
	}
	return nil
}
