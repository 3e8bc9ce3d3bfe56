package dockertest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A node is one standalone JVM. Two node kinds exist:
//
//   - "plain": no authentication; ws:// on the web port and wss:// on the TLS
//     web port (client certificates optional). Serves the Plain and TLS variants.
//   - "token": HS256 token authentication (superuser "admin"); ws:// on the web
//     port, and wss:// on the TLS web port with
//     tlsRequireTrustedClientCertOnConnect=true, i.e. mutual TLS required.
//     Serves the Token variant (and the mTLS tests).
type nodeKind string

const (
	nodePlain nodeKind = "plain"
	nodeToken nodeKind = "token"
)

func nodeFor(v Variant) nodeKind {
	if v == Token {
		return nodeToken
	}
	return nodePlain
}

type nodePorts struct {
	Web       int `json:"web"`
	Broker    int `json:"broker"`
	Bookie    int `json:"bookie"`
	WebTLS    int `json:"webTLS"`
	BrokerTLS int `json:"brokerTLS"`
}

// localNode is a standalone broker process started from the Maven tarball.
type localNode struct {
	kind       nodeKind
	dir        string // run dir: conf, data, logs
	logPath    string
	ports      nodePorts
	pki        pkiFiles
	secret     []byte // HMAC key (token node)
	adminToken string // sub=admin, no expiry (token node)
	argv       []string
	env        []string
	detached   bool // survives the parent (the `up` command)
	startedAt  time.Time
	readyAfter time.Duration
	mu         sync.Mutex
	cmd        *exec.Cmd
	done       chan struct{} // closed when the current process has exited
	pid        int
}

func freePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// newLocalNode prepares (but does not start) a node in dir, using the PKI in pki.
func newLocalNode(ctx context.Context, kind nodeKind, dir string, pki pkiFiles, cacheDir string, detached bool, logf func(string, ...any)) (*localNode, error) {
	java, err := javaPath()
	if err != nil {
		return nil, err
	}
	home, err := EnsureDistribution(ctx, cacheDir, logf)
	if err != nil {
		return nil, err
	}
	p, err := freePorts(5)
	if err != nil {
		return nil, fmt.Errorf("free ports: %w", err)
	}
	n := &localNode{
		kind:     kind,
		dir:      dir,
		logPath:  filepath.Join(dir, "broker.log"),
		ports:    nodePorts{Web: p[0], Broker: p[1], Bookie: p[2], WebTLS: p[3], BrokerTLS: p[4]},
		pki:      pki,
		detached: detached,
	}
	for _, d := range []string{"javatmp", "logs", "data"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}

	over := map[string]string{
		"clusterName":                   "standalone",
		"advertisedAddress":             "127.0.0.1",
		"bindAddress":                   "127.0.0.1",
		"brokerServicePort":             strconv.Itoa(n.ports.Broker),
		"webServicePort":                strconv.Itoa(n.ports.Web),
		"brokerServicePortTls":          strconv.Itoa(n.ports.BrokerTLS),
		"webServicePortTls":             strconv.Itoa(n.ports.WebTLS),
		"metadataStoreUrl":              "",
		"configurationMetadataStoreUrl": "",
		// must-have (the shipped standalone.conf has them; restated so a
		// different template cannot silently fall back to broker defaults)
		"webSocketServiceEnabled":          "true",
		"managedLedgerDefaultEnsembleSize": "1",
		"managedLedgerDefaultWriteQuorum":  "1",
		"managedLedgerDefaultAckQuorum":    "1",
		"loadManagerClassName":             "org.apache.pulsar.broker.loadbalance.NoopLoadManager",
		"loadBalancerEnabled":              "false",
		"transactionCoordinatorEnabled":    "false",
		// test friendliness
		"allowAutoTopicCreation":              "true",
		"allowAutoTopicCreationType":          "non-partitioned",
		"brokerDeleteInactiveTopicsEnabled":   "false",
		"forceDeleteNamespaceAllowed":         "true",
		"forceDeleteTenantAllowed":            "true",
		"brokerShutdownTimeoutMs":             "10000",
		"exposeTopicLevelMetricsInPrometheus": "false",
		// light on 2 cores
		"numIOThreads":                      "2",
		"numHttpServerThreads":              "8",
		"webSocketNumIoThreads":             "2",
		"managedLedgerCacheSizeMB":          "64",
		"dbStorage_writeCacheMaxSizeMb":     "32",
		"dbStorage_readAheadCacheMaxSizeMb": "32",
		"journalSyncData":                   "false",
		"diskUsageThreshold":                "0.99",
		"diskUsageWarnThreshold":            "0.99",
		// TLS on the extra ports; the plain ports stay open for the broker's own clients
		"tlsCertificateFilePath":               pki.ServerCert,
		"tlsKeyFilePath":                       pki.ServerKey,
		"tlsTrustCertsFilePath":                pki.CA,
		"tlsAllowInsecureConnection":           "false",
		"tlsRequireTrustedClientCertOnConnect": strconv.FormatBool(kind == nodeToken),
	}
	if kind == nodeToken {
		n.secret = make([]byte, 32)
		if _, err := rand.Read(n.secret); err != nil {
			return nil, err
		}
		n.adminToken = mintHS256(n.secret, "admin", 0)
		over["authenticationEnabled"] = "true"
		over["authenticationProviders"] = "org.apache.pulsar.broker.authentication.AuthenticationProviderToken"
		over["tokenSecretKey"] = "data:;base64," + base64.StdEncoding.EncodeToString(n.secret)
		over["authorizationEnabled"] = "false"
		over["superUserRoles"] = "admin"
		over["anonymousUserRole"] = ""
		over["brokerClientAuthenticationPlugin"] = "org.apache.pulsar.client.impl.auth.AuthenticationToken"
		over["brokerClientAuthenticationParameters"] = "token:" + n.adminToken
	}
	confPath := filepath.Join(dir, "standalone.conf")
	if err := writeConf(filepath.Join(home, "conf", "standalone.conf"), confPath, over); err != nil {
		return nil, err
	}
	log4j := filepath.Join(dir, "log4j2.properties")
	if err := os.WriteFile(log4j, []byte(log4j2Props), 0o644); err != nil {
		return nil, err
	}

	n.argv = []string{java,
		"-Xms256m", "-Xmx1g", "-XX:MaxDirectMemorySize=1g", "-XX:+UseG1GC",
		"-Djava.io.tmpdir=" + filepath.Join(dir, "javatmp"),
		"-Djava.net.preferIPv4Stack=true", "-Djute.maxbuffer=10485760",
		"-Dzookeeper.clientTcpKeepAlive=true",
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
		"-Dlog4j2.configurationFile=" + log4j,
		"-Dpulsar.log.dir=" + filepath.Join(dir, "logs"), "-Dpulsar.log.file=pulsar-standalone.log",
		"-Dpulsar.allocator.exit_on_oom=true",
		"-cp", filepath.Join(home, "lib") + "/*",
		"org.apache.pulsar.PulsarStandaloneStarter",
		"--config", confPath,
		"--no-functions-worker", "--no-stream-storage",
		"--metadata-dir", filepath.Join(dir, "data", "metadata"),
		"--bookkeeper-dir", filepath.Join(dir, "data", "bookkeeper"),
		"--bookkeeper-port", strconv.Itoa(n.ports.Bookie),
		"--advertised-address", "127.0.0.1",
	}
	// RocksDB metadata mode: make sure nothing switches the starter to ZooKeeper.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PULSAR_STANDALONE_USE_ZOOKEEPER=") {
			n.env = append(n.env, kv)
		}
	}
	return n, nil
}

const log4j2Props = `status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = %d{HH:mm:ss.SSS} %-5level [%t] %c{1} - %msg%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = OUT
logger.bk.name = org.apache.bookkeeper
logger.bk.level = warn
logger.zk.name = org.apache.zookeeper
logger.zk.level = warn
`

// writeConf copies the shipped standalone.conf, replacing the value of every
// key in over in place and appending the keys the template lacks, so that
// each key appears exactly once (the file doubles as the bookie's config,
// where a repeated key becomes multi-valued).
func writeConf(template, dst string, over map[string]string) error {
	in, err := os.ReadFile(template)
	if err != nil {
		return fmt.Errorf("reading %s: %w", template, err)
	}
	seen := map[string]bool{}
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(string(in)))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		t := strings.TrimSpace(line)
		if t != "" && !strings.HasPrefix(t, "#") {
			if i := strings.IndexByte(t, '='); i > 0 {
				k := strings.TrimSpace(t[:i])
				if seen[k] {
					continue // drop duplicates in the template itself
				}
				seen[k] = true
				if v, ok := over[k]; ok {
					line = k + "=" + v
				}
			}
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return err
	}
	var extra []string
	for k := range over {
		if !seen[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		b.WriteString("\n# added by stargate dockertest\n")
		for _, k := range extra {
			b.WriteString(k + "=" + over[k] + "\n")
		}
	}
	return os.WriteFile(dst, []byte(b.String()), 0o644)
}

// start launches the JVM (it must not be running). Output goes to broker.log
// (appended, so a restart keeps the earlier history).
func (n *localNode) start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.done != nil {
		select {
		case <-n.done:
		default:
			return errors.New("broker already running")
		}
	}
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "=== stargate dockertest: starting %s node at %s ===\n", n.kind, time.Now().Format(time.RFC3339))
	cmd := exec.Command(n.argv[0], n.argv[1:]...)
	cmd.Dir = n.dir
	cmd.Env = n.env
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Stdin = nil
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if !n.detached {
		// A test binary that dies must not leave a JVM behind.
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting java: %w", err)
	}
	logf.Close() // the child holds its own descriptor
	done := make(chan struct{})
	n.cmd, n.done, n.pid, n.startedAt = cmd, done, cmd.Process.Pid, time.Now()
	os.WriteFile(filepath.Join(n.dir, "pid"), []byte(strconv.Itoa(n.pid)+"\n"), 0o644)
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	return nil
}

func (n *localNode) adminURL() string { return fmt.Sprintf("http://127.0.0.1:%d", n.ports.Web) }

// waitReady polls the admin API until the broker is usable.
func (n *localNode) waitReady(ctx context.Context, timeout time.Duration) error {
	n.mu.Lock()
	done, started := n.done, n.startedAt
	n.mu.Unlock()
	err := waitReady(ctx, n.adminURL(), n.adminToken, timeout, done)
	if err != nil {
		return &StartError{Summary: fmt.Sprintf("pulsar %s node (%s): %v", n.kind, n.dir, err), LogTail: tailFile(n.logPath, 40)}
	}
	n.readyAfter = time.Since(started)
	return nil
}

// kill sends SIGKILL to the broker's process group and waits for it to exit.
func (n *localNode) kill() error {
	n.mu.Lock()
	pid, done := n.pid, n.done
	n.mu.Unlock()
	if done == nil {
		return errors.New("broker not started")
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	select {
	case <-done:
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("pid %d did not exit after SIGKILL", pid)
	}
}

// stop sends SIGTERM and, after grace, SIGKILL.
func (n *localNode) stop(grace time.Duration) error {
	n.mu.Lock()
	pid, done := n.pid, n.done
	n.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	default:
	}
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-done:
		return nil
	case <-time.After(grace):
	}
	return n.kill()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}
