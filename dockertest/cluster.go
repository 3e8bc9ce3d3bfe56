package dockertest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Cluster is the "cluster" variant: a real multi-broker Pulsar cluster from
// the same distribution as the standalone brokers — the bundled ZooKeeper
// as metadata store, one bookie, two brokers with the WebSocket service on,
// and the standalone WebSocket proxy (`bin/pulsar websocket`) in front,
// every process a JVM of its own on free 127.0.0.1 ports.
//
// Start one with `go run ./cmd/pulsar up --variants cluster` and point
// STARGATE_PULSAR_STATE at its state file; tests get it with RequireCluster.
const Cluster Variant = "cluster"

// ClusterName is the Pulsar cluster name of the cluster variant.
const ClusterName = "stargate"

// ClusterInfo is the cluster's part of the state file.
type ClusterInfo struct {
	ZooKeeper        string        `json:"zookeeper"` // host:port
	Brokers          []ClusterNode `json:"brokers"`
	Proxy            ClusterNode   `json:"proxy"`
	Bookie           ClusterNode   `json:"bookie"`
	ZK               ClusterNode   `json:"zk"`
	ReadyAfterMillis int64         `json:"readyAfterMillis"`
}

// ClusterNode is one JVM of the cluster: how to reach it and how to start
// it again (argv, run directory).
type ClusterNode struct {
	Name     string   `json:"name"` // "zookeeper", "bookie", "broker1", "broker2", "proxy"
	Dir      string   `json:"dir"`
	Log      string   `json:"log"`
	WSURL    string   `json:"wsURL,omitempty"`    // ws://127.0.0.1:port (brokers, proxy)
	AdminURL string   `json:"adminURL,omitempty"` // http://127.0.0.1:port (brokers)
	BrokerID string   `json:"brokerID,omitempty"` // the id the admin API uses (127.0.0.1:webport)
	Port     int      `json:"port,omitempty"`     // zookeeper client port, bookie port
	Argv     []string `json:"argv"`
}

// pid reads the node's current process id from its run directory (start
// writes it there, so a restart by another process is seen).
func (n ClusterNode) pid() int {
	b, err := os.ReadFile(filepath.Join(n.Dir, "pid"))
	if err != nil {
		return 0
	}
	p, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return p
}

// PulsarCluster is a running cluster: both brokers, the proxy, and control
// over the brokers' and the proxy's processes.
type PulsarCluster struct {
	Info ClusterInfo
	// ProxyURL is the WebSocket proxy's ws:// base.
	ProxyURL string
	// BrokerWS and BrokerAdmin are the brokers' ws:// and http:// bases, by index.
	BrokerWS    []string
	BrokerAdmin []string
	// BrokerIDs are the ids the admin API names the brokers by (127.0.0.1:webport).
	BrokerIDs []string

	statePath string
	mu        sync.Mutex
}

// Admin returns an admin client for broker i.
func (c *PulsarCluster) Admin(i int) *Admin { return NewAdmin(c.BrokerAdmin[i], "") }

// BrokerIndex returns the index of the broker whose id (127.0.0.1:webport,
// or an http URL / host:port form of it) is id; -1 if none.
func (c *PulsarCluster) BrokerIndex(id string) int {
	id = strings.TrimPrefix(strings.TrimPrefix(id, "http://"), "pulsar://")
	id = strings.TrimSuffix(id, "/")
	for i, b := range c.BrokerIDs {
		if b == id || strings.TrimPrefix(c.BrokerAdmin[i], "http://") == id {
			return i
		}
	}
	return -1
}

// Kill sends SIGKILL to broker i's process group and waits until it is gone.
func (c *PulsarCluster) Kill(i int) error {
	return killNode(c.Info.Brokers[i])
}

// Restart stops broker i if it still runs and starts it again on the same
// ports and data directory, waiting until it is ready.
func (c *PulsarCluster) Restart(ctx context.Context, i int) error {
	n := c.Info.Brokers[i]
	if err := stopNode(n, 15*time.Second); err != nil {
		return err
	}
	if err := startNode(n); err != nil {
		return err
	}
	return waitBroker(ctx, n, 180*time.Second)
}

// RestartProxy stops the WebSocket proxy (SIGTERM, SIGKILL after 10 s)
// and starts it again on the same port, waiting until it accepts connections.
func (c *PulsarCluster) RestartProxy(ctx context.Context) error {
	n := c.Info.Proxy
	if err := stopNode(n, 10*time.Second); err != nil {
		return err
	}
	if err := startNode(n); err != nil {
		return err
	}
	return waitProxy(ctx, n, c.Info.Brokers, 120*time.Second)
}

// BrokerAlive reports whether broker i's process runs.
func (c *PulsarCluster) BrokerAlive(i int) bool { return pidAlive(c.Info.Brokers[i].pid()) }

// LogTail returns the last n lines of every node's log, for a failing test.
func (c *PulsarCluster) LogTail(n int) string {
	var b strings.Builder
	for _, node := range c.Info.nodes() {
		fmt.Fprintf(&b, "--- %s (%s) ---\n%s\n", node.Name, node.Log, tailFile(node.Log, n))
	}
	return b.String()
}

func (ci ClusterInfo) nodes() []ClusterNode {
	return append([]ClusterNode{ci.ZK, ci.Bookie}, append(slices.Clone(ci.Brokers), ci.Proxy)...)
}

func clusterFromInfo(path string, ci ClusterInfo) *PulsarCluster {
	c := &PulsarCluster{Info: ci, ProxyURL: ci.Proxy.WSURL, statePath: path}
	for _, b := range ci.Brokers {
		c.BrokerWS = append(c.BrokerWS, b.WSURL)
		c.BrokerAdmin = append(c.BrokerAdmin, b.AdminURL)
		c.BrokerIDs = append(c.BrokerIDs, b.BrokerID)
	}
	return c
}

// StartCluster returns the cluster the state file named by
// STARGATE_PULSAR_STATE describes. There is no implicit start: a cluster
// costs five JVMs, so it is brought up once (`pulsar up --variants
// cluster`) and shared.
func StartCluster(ctx context.Context) (*PulsarCluster, error) {
	p := os.Getenv(EnvState)
	if p == "" {
		return nil, fmt.Errorf("%s unset; start one with `go run ./dockertest/cmd/pulsar up --variants cluster --state FILE` and export %s=FILE", EnvState, EnvState)
	}
	s, err := ReadState(p)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", EnvState, err)
	}
	if s.Cluster == nil {
		return nil, fmt.Errorf("%s=%s has no cluster (started without --variants cluster?)", EnvState, p)
	}
	c := clusterFromInfo(p, *s.Cluster)
	for _, n := range []ClusterNode{s.Cluster.ZK, s.Cluster.Bookie, s.Cluster.Proxy} {
		if !pidAlive(n.pid()) {
			return nil, fmt.Errorf("%s=%s: the cluster's %s (pid %d) is not running", EnvState, p, n.Name, n.pid())
		}
	}
	return c, nil
}

// RequireCluster returns the shared cluster or ends the test: tb.Fatalf
// under CI=true, tb.Skipf otherwise (as Require does for the standalone
// variants).
func RequireCluster(tb testing.TB) *PulsarCluster {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := StartCluster(ctx)
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("dockertest: no cluster: %v", err)
		}
		tb.Skipf("dockertest: no cluster: %v", err)
	}
	return c
}

// --- starting ---------------------------------------------------------------

// jvmArgs is the java command line shared by every cluster JVM: small
// heaps (five of them share a 2-core machine with other work), G1, the
// opens the Pulsar scripts pass, logs to the console (the node's log file).
func jvmArgs(java, home, dir, heap, direct string) []string {
	return []string{java,
		"-Xms" + heap, "-Xmx" + heap, "-XX:MaxDirectMemorySize=" + direct, "-XX:+UseG1GC",
		"-XX:TieredStopAtLevel=1", // C1 only: less JIT CPU at start on 2 shared cores
		"-Djava.io.tmpdir=" + filepath.Join(dir, "javatmp"),
		"-Djava.net.preferIPv4Stack=true", "-Djute.maxbuffer=10485760",
		"-Dzookeeper.clientTcpKeepAlive=true",
		"-Dzookeeper.4lw.commands.whitelist=*",
		"-Dio.netty.tryReflectionSetAccessible=true",
		"--add-opens", "java.base/java.io=ALL-UNNAMED",
		"--add-opens", "java.base/java.util.zip=ALL-UNNAMED",
		"--add-opens", "java.base/java.nio=ALL-UNNAMED",
		"--add-opens", "java.base/jdk.internal.misc=ALL-UNNAMED",
		"--add-opens", "java.base/sun.net=ALL-UNNAMED",
		"--add-opens", "java.management/sun.management=ALL-UNNAMED",
		"--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED",
		"--add-opens", "java.base/jdk.internal.platform=ALL-UNNAMED",
		"-Dbookkeeper.metadata.bookie.drivers=org.apache.pulsar.metadata.bookkeeper.PulsarMetadataBookieDriver",
		"-Dbookkeeper.metadata.client.drivers=org.apache.pulsar.metadata.bookkeeper.PulsarMetadataClientDriver",
		"-Dlog4j.shutdownHookEnabled=false", "-Dlog4j2.is.webapp=false",
		"-Dlog4j2.configurationFile=" + filepath.Join(dir, "log4j2.properties"),
		"-Dpulsar.log.dir=" + filepath.Join(dir, "logs"), "-Dpulsar.log.file=pulsar.log",
		"-Dpulsar.allocator.exit_on_oom=true",
		"-cp", filepath.Join(home, "lib") + "/*",
	}
}

func prepDir(dir string) error {
	for _, d := range []string{"javatmp", "logs", "data"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "log4j2.properties"), []byte(log4j2Props), 0o644)
}

// clusterEnv is the environment of every cluster JVM.
func clusterEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PULSAR_STANDALONE_USE_ZOOKEEPER=") {
			env = append(env, kv)
		}
	}
	return env
}

// startNode launches n's argv detached (it outlives the caller: the
// cluster is shared through the state file), output appended to n.Log,
// and records the pid in n.Dir/pid.
func startNode(n ClusterNode) error {
	if pid := n.pid(); pid > 0 && pidAlive(pid) {
		return fmt.Errorf("%s already running (pid %d)", n.Name, pid)
	}
	logf, err := os.OpenFile(n.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close() // the child holds its own descriptor
	fmt.Fprintf(logf, "=== stargate dockertest: starting cluster %s at %s ===\n", n.Name, time.Now().Format(time.RFC3339))
	cmd := exec.Command(n.Argv[0], n.Argv[1:]...)
	cmd.Dir, cmd.Env = n.Dir, clusterEnv()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: starting java: %w", n.Name, err)
	}
	pid := cmd.Process.Pid
	// No goroutine waits for it (a test that restarts a node must not leave
	// one behind): a killed child stays a zombie until this process exits,
	// which pidAlive counts as gone; after `up` exits, init reaps it.
	_ = cmd.Process.Release()
	return os.WriteFile(filepath.Join(n.Dir, "pid"), []byte(strconv.Itoa(pid)+"\n"), 0o644)
}

// killNode SIGKILLs n's process group and waits (30 s at most) until the
// process is gone.
func killNode(n ClusterNode) error {
	pid := n.pid()
	if pid <= 0 {
		return fmt.Errorf("%s: no pid", n.Name)
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if !pidAlive(pid) {
			return nil
		}
	}
	return fmt.Errorf("%s: pid %d still alive 30 s after SIGKILL", n.Name, pid)
}

// stopNode SIGTERMs n's process group, SIGKILL after grace.
func stopNode(n ClusterNode, grace time.Duration) error {
	pid := n.pid()
	if pid <= 0 || !pidAlive(pid) {
		return nil
	}
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	for end := time.Now().Add(grace); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if !pidAlive(pid) {
			return nil
		}
	}
	return killNode(n)
}

func nodeErr(n ClusterNode, err error) error {
	return &StartError{Summary: fmt.Sprintf("cluster %s (%s): %v", n.Name, n.Dir, err), LogTail: tailFile(n.Log, 60)}
}

// waitLoop polls check every 500 ms until it returns nil, the process of n
// dies, or timeout passes.
func waitLoop(ctx context.Context, n ClusterNode, timeout time.Duration, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
		last = check(cctx)
		ccancel()
		if last == nil {
			return nil
		}
		if !pidAlive(n.pid()) {
			return nodeErr(n, fmt.Errorf("process exited before it was ready (last check: %v)", last))
		}
		select {
		case <-ctx.Done():
			return nodeErr(n, fmt.Errorf("not ready after %s: %v", timeout, last))
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// zkOK asks ZooKeeper "ruok".
func zkOK(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if _, err := conn.Write([]byte("ruok")); err != nil {
		return err
	}
	b, _ := bufio.NewReader(conn).ReadString('\n')
	if !strings.HasPrefix(b, "imok") {
		return fmt.Errorf("ruok answered %q", b)
	}
	return nil
}

func tcpOK(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return conn.Close()
}

func readyClient() *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
}

// waitBroker: /admin/v2/brokers/ready, and the broker listed as active in
// the cluster.
func waitBroker(ctx context.Context, n ClusterNode, timeout time.Duration) error {
	a, hc := NewAdmin(n.AdminURL, ""), readyClient()
	return waitLoop(ctx, n, timeout, func(ctx context.Context) error {
		var s string
		if err := a.raw(ctx, hc, http.MethodGet, "/admin/v2/brokers/ready", nil, &s); err != nil {
			return err
		}
		if strings.TrimSpace(s) != "ok" {
			return fmt.Errorf("/admin/v2/brokers/ready answered %q", s)
		}
		var ids []string
		if err := a.raw(ctx, hc, http.MethodGet, "/admin/v2/brokers/"+ClusterName, nil, &ids); err != nil {
			return err
		}
		if !slices.Contains(ids, n.BrokerID) {
			return fmt.Errorf("%s not among the active brokers %v", n.BrokerID, ids)
		}
		return nil
	})
}

// waitProxy: the proxy accepts a producer on a probe topic end to end
// (proxy → broker → bookie), i.e. a WebSocket upgrade answered 101.
func waitProxy(ctx context.Context, n ClusterNode, brokers []ClusterNode, timeout time.Duration) error {
	return waitLoop(ctx, n, timeout, func(ctx context.Context) error {
		return wsProbe(ctx, strings.TrimPrefix(n.WSURL, "ws://"), "/ws/v2/producer/persistent/public/default/stargate-cluster-probe")
	})
}

// wsProbe performs a WebSocket upgrade of path on addr and closes it.
func wsProbe(ctx context.Context, addr, path string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return fmt.Errorf("upgrade of %s answered %s", path, resp.Status)
	}
	return nil
}

// upCluster prepares and starts the cluster under root, returning its
// description once every node is ready. On failure nothing is left running.
func upCluster(ctx context.Context, root string, opts Options) (_ *ClusterInfo, err error) {
	java, err := javaPath()
	if err != nil {
		return nil, err
	}
	home, err := EnsureDistribution(ctx, opts.CacheDir, opts.Logf)
	if err != nil {
		return nil, err
	}
	p, err := freePorts(8)
	if err != nil {
		return nil, fmt.Errorf("free ports: %w", err)
	}
	zkPort, bkPort, proxyPort := p[0], p[1], p[2]
	bWeb, bBin := []int{p[3], p[5]}, []int{p[4], p[6]}
	zkAddr := "127.0.0.1:" + strconv.Itoa(zkPort)
	zkURL := "zk:" + zkAddr
	t0 := time.Now()
	dir := func(name string) string { return filepath.Join(root, name) }
	for _, d := range []string{"zookeeper", "bookie", "broker1", "broker2", "proxy", "init"} {
		if err := prepDir(dir(d)); err != nil {
			return nil, err
		}
	}
	ci := &ClusterInfo{ZooKeeper: zkAddr}
	started := []ClusterNode{}
	defer func() {
		if err != nil {
			for _, n := range slices.Backward(started) {
				_ = stopNode(n, 5*time.Second)
			}
		}
	}()
	start := func(n ClusterNode) error {
		if err := startNode(n); err != nil {
			return err
		}
		started = append(started, n)
		return nil
	}

	// ZooKeeper: its own small config (the shipped one starts a metrics
	// HTTP server on 8000 and the admin server on 8080).
	zk := ClusterNode{Name: "zookeeper", Dir: dir("zookeeper"), Log: filepath.Join(dir("zookeeper"), "node.log"), Port: zkPort}
	zkConf := filepath.Join(zk.Dir, "zookeeper.conf")
	if err := os.WriteFile(zkConf, []byte(fmt.Sprintf(`tickTime=2000
initLimit=10
syncLimit=5
dataDir=%s
clientPort=%d
clientPortAddress=127.0.0.1
admin.enableServer=false
forceSync=no
maxClientCnxns=0
autopurge.snapRetainCount=3
autopurge.purgeInterval=1
`, filepath.Join(zk.Dir, "data"), zkPort)), 0o644); err != nil {
		return nil, err
	}
	zk.Argv = append(jvmArgs(java, home, zk.Dir, "128m", "64m"), "org.apache.zookeeper.server.quorum.QuorumPeerMain", zkConf)
	opts.Logf("cluster: starting zookeeper on %s", zkAddr)
	if err := start(zk); err != nil {
		return nil, err
	}
	if err := waitLoop(ctx, zk, opts.StartTimeout, func(ctx context.Context) error { return zkOK(ctx, zkAddr) }); err != nil {
		return nil, err
	}
	ci.ZK = zk
	opts.Logf("cluster: zookeeper ready after %s", time.Since(t0).Round(100*time.Millisecond))

	// Cluster metadata (also formats the BookKeeper metadata, and creates
	// public/default).
	webList := fmt.Sprintf("http://127.0.0.1:%d,127.0.0.1:%d", bWeb[0], bWeb[1])
	binList := fmt.Sprintf("pulsar://127.0.0.1:%d,127.0.0.1:%d", bBin[0], bBin[1])
	initDir := dir("init")
	initArgv := append(jvmArgs(java, home, initDir, "128m", "64m"), "org.apache.pulsar.PulsarClusterMetadataSetup",
		"--cluster", ClusterName,
		"--metadata-store", zkURL,
		"--configuration-metadata-store", zkURL,
		"--web-service-url", webList,
		"--broker-service-url", binList)
	initLog := filepath.Join(initDir, "node.log")
	cctx, ccancel := context.WithTimeout(ctx, opts.StartTimeout)
	cmd := exec.CommandContext(cctx, initArgv[0], initArgv[1:]...)
	cmd.Dir, cmd.Env = initDir, clusterEnv()
	out, ierr := cmd.CombinedOutput()
	ccancel()
	_ = os.WriteFile(initLog, out, 0o644)
	if ierr != nil {
		return nil, &StartError{Summary: fmt.Sprintf("cluster initialize-cluster-metadata: %v", ierr), LogTail: lastLines(string(out), 60)}
	}
	opts.Logf("cluster: metadata initialized after %s", time.Since(t0).Round(100*time.Millisecond))

	// Bookie: small caches and journal, no stats or HTTP server, no
	// auto-recovery (one bookie has nothing to recover to).
	bk := ClusterNode{Name: "bookie", Dir: dir("bookie"), Log: filepath.Join(dir("bookie"), "node.log"), Port: bkPort}
	bkConf := filepath.Join(bk.Dir, "bookkeeper.conf")
	if err := writeConf(filepath.Join(home, "conf", "bookkeeper.conf"), bkConf, map[string]string{
		"bookiePort":                          strconv.Itoa(bkPort),
		"advertisedAddress":                   "127.0.0.1",
		"listeningInterface":                  "lo",
		"allowLoopback":                       "true",
		"useHostNameAsBookieID":               "false",
		"metadataServiceUri":                  "", // from zkServers: the classic ZooKeeper driver, /ledgers
		"zkServers":                           zkAddr,
		"journalDirectory":                    filepath.Join(bk.Dir, "data", "journal"),
		"ledgerDirectories":                   filepath.Join(bk.Dir, "data", "ledgers"),
		"httpServerEnabled":                   "false",
		"enableStatistics":                    "false",
		"autoRecoveryDaemonEnabled":           "false",
		"journalSyncData":                     "false",
		"journalPreAllocSizeMB":               "4",
		"journalWriteBufferSizeKB":            "64",
		"dbStorage_writeCacheMaxSizeMb":       "16",
		"dbStorage_readAheadCacheMaxSizeMb":   "16",
		"dbStorage_rocksDB_blockCacheSize":    "8388608",
		"dbStorage_rocksDB_writeBufferSizeMB": "8",
		"numAddWorkerThreads":                 "0",
		"numReadWorkerThreads":                "2",
		"serverNumIOThreads":                  "2",
		"diskUsageThreshold":                  "0.99",
		"diskUsageWarnThreshold":              "0.99",
		"gcWaitTime":                          "900000",
	}); err != nil {
		return nil, err
	}
	bk.Argv = append(jvmArgs(java, home, bk.Dir, "192m", "192m"), "org.apache.bookkeeper.server.Main", "--conf", bkConf)

	// Brokers.
	var brokers []ClusterNode
	for i := range 2 {
		name := "broker" + strconv.Itoa(i+1)
		b := ClusterNode{Name: name, Dir: dir(name), Log: filepath.Join(dir(name), "node.log"),
			WSURL:    fmt.Sprintf("ws://127.0.0.1:%d", bWeb[i]),
			AdminURL: fmt.Sprintf("http://127.0.0.1:%d", bWeb[i]),
			BrokerID: fmt.Sprintf("127.0.0.1:%d", bWeb[i]),
		}
		conf := filepath.Join(b.Dir, "broker.conf")
		if err := writeConf(filepath.Join(home, "conf", "broker.conf"), conf, map[string]string{
			"clusterName":                      ClusterName,
			"metadataStoreUrl":                 zkURL,
			"configurationMetadataStoreUrl":    zkURL,
			"advertisedAddress":                "127.0.0.1",
			"bindAddress":                      "127.0.0.1",
			"brokerServicePort":                strconv.Itoa(bBin[i]),
			"webServicePort":                   strconv.Itoa(bWeb[i]),
			"brokerServicePortTls":             "",
			"webServicePortTls":                "",
			"webSocketServiceEnabled":          "true",
			"managedLedgerDefaultEnsembleSize": "1",
			"managedLedgerDefaultWriteQuorum":  "1",
			"managedLedgerDefaultAckQuorum":    "1",
			"functionsWorkerEnabled":           "false",
			"transactionCoordinatorEnabled":    "false",
			// Ownership moves only when a test moves it: no automatic
			// shedding or bundle splits; the load manager still places
			// bundles (and honours an unload's destinationBroker).
			"loadBalancerEnabled":                       "true",
			"loadBalancerSheddingEnabled":               "false",
			"loadBalancerAutoBundleSplitEnabled":        "false",
			"loadBalancerAutoUnloadSplitBundlesEnabled": "false",
			"loadBalancerOverrideBrokerNicSpeedGbps":    "1",
			// A killed broker's bundles are free once its metadata session
			// expires: short enough for tests, long enough for a loaded
			// machine's GC pauses.
			"metadataStoreSessionTimeoutMillis":   "10000",
			"allowAutoTopicCreation":              "true",
			"allowAutoTopicCreationType":          "non-partitioned",
			"brokerDeleteInactiveTopicsEnabled":   "false",
			"forceDeleteNamespaceAllowed":         "true",
			"forceDeleteTenantAllowed":            "true",
			"brokerShutdownTimeoutMs":             "10000",
			"exposeTopicLevelMetricsInPrometheus": "false",
			// one bookie: never quarantine it
			"bookkeeperClientHealthCheckEnabled": "false",
			"numIOThreads":                       "2",
			"numHttpServerThreads":               "8",
			"webSocketNumIoThreads":              "2",
			"managedLedgerCacheSizeMB":           "32",
		}); err != nil {
			return nil, err
		}
		b.Argv = append(jvmArgs(java, home, b.Dir, "384m", "256m"), "org.apache.pulsar.PulsarBrokerStarter", "--broker-conf", conf)
		brokers = append(brokers, b)
	}

	opts.Logf("cluster: starting bookie (%d) and brokers (web %d, %d)", bkPort, bWeb[0], bWeb[1])
	for _, n := range append([]ClusterNode{bk}, brokers...) {
		if err := start(n); err != nil {
			return nil, err
		}
	}
	if err := waitLoop(ctx, bk, opts.StartTimeout, func(ctx context.Context) error { return tcpOK(ctx, "127.0.0.1:"+strconv.Itoa(bkPort)) }); err != nil {
		return nil, err
	}
	errs := make([]error, len(brokers))
	var wg sync.WaitGroup
	for i, b := range brokers {
		wg.Go(func() { errs[i] = waitBroker(ctx, b, opts.StartTimeout) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	ci.Bookie, ci.Brokers = bk, brokers
	opts.Logf("cluster: brokers ready after %s", time.Since(t0).Round(100*time.Millisecond))

	// The WebSocket proxy, given both brokers.
	px := ClusterNode{Name: "proxy", Dir: dir("proxy"), Log: filepath.Join(dir("proxy"), "node.log"),
		WSURL: fmt.Sprintf("ws://127.0.0.1:%d", proxyPort), Port: proxyPort}
	pxConf := filepath.Join(px.Dir, "websocket.conf")
	if err := writeConf(filepath.Join(home, "conf", "websocket.conf"), pxConf, map[string]string{
		"clusterName":                       ClusterName,
		"configurationMetadataStoreUrl":     zkURL,
		"metadataStoreSessionTimeoutMillis": "10000",
		"serviceUrl":                        webList,
		"brokerServiceUrl":                  binList,
		"webServicePort":                    strconv.Itoa(proxyPort),
		"bindAddress":                       "127.0.0.1",
		"webSocketNumIoThreads":             "2",
		"webSocketNumServiceThreads":        "4",
		"numHttpServerThreads":              "8",
	}); err != nil {
		return nil, err
	}
	px.Argv = append(jvmArgs(java, home, px.Dir, "192m", "128m"), "org.apache.pulsar.websocket.service.WebSocketServiceStarter", pxConf)
	if err := start(px); err != nil {
		return nil, err
	}
	if err := waitProxy(ctx, px, brokers, opts.StartTimeout); err != nil {
		return nil, err
	}
	ci.Proxy = px
	ci.ReadyAfterMillis = time.Since(t0).Milliseconds()
	opts.Logf("cluster: proxy ready; cluster up after %s", time.Since(t0).Round(100*time.Millisecond))
	return ci, nil
}

// downCluster stops every node of ci (proxy and brokers first, the
// metadata store last).
func downCluster(ci *ClusterInfo, grace time.Duration, logf func(string, ...any)) {
	var wg sync.WaitGroup
	for _, n := range append([]ClusterNode{ci.Proxy}, ci.Brokers...) {
		wg.Go(func() {
			if pid := n.pid(); pid > 0 && pidAlive(pid) {
				logf("stopping cluster %s (pid %d)", n.Name, pid)
				_ = stopNode(n, grace)
			}
		})
	}
	wg.Wait()
	for _, n := range []ClusterNode{ci.Bookie, ci.ZK} {
		if pid := n.pid(); pid > 0 && pidAlive(pid) {
			logf("stopping cluster %s (pid %d)", n.Name, pid)
			_ = stopNode(n, grace)
		}
	}
}

// clusterStatus checks every node of ci.
func clusterStatus(ctx context.Context, ci *ClusterInfo) error {
	var errs []error
	for _, n := range ci.nodes() {
		if !pidAlive(n.pid()) {
			errs = append(errs, fmt.Errorf("%s: pid %d not running", n.Name, n.pid()))
		}
	}
	if len(errs) == 0 {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := wsProbe(cctx, strings.TrimPrefix(ci.Proxy.WSURL, "ws://"), "/ws/v2/producer/persistent/public/default/stargate-cluster-probe"); err != nil {
			errs = append(errs, fmt.Errorf("proxy: %v", err))
		}
	}
	return errors.Join(errs...)
}
