package dockertest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Variant selects how the broker is reached.
type Variant string

const (
	// Plain: ws:// and http:// without authentication.
	Plain Variant = "plain"
	// TLS: wss:// with a CA generated at test time (client certificate
	// optional). The same broker also serves ws:// (WSURL).
	TLS Variant = "tls"
	// Token: HS256 JWT authentication; anonymous requests get 401. Its
	// wss:// port requires a trusted client certificate (mutual TLS).
	Token Variant = "token"
)

// Variants lists every variant.
var Variants = []Variant{Plain, TLS, Token}

// ParseVariant accepts "plain", "tls", "token" or "cluster".
func ParseVariant(s string) (Variant, error) {
	for _, v := range append(Variants, Cluster) {
		if strings.EqualFold(strings.TrimSpace(s), string(v)) {
			return v, nil
		}
	}
	return "", fmt.Errorf("unknown variant %q (want plain, tls, token or cluster)", s)
}

// Environment variables read by Start.
const (
	EnvURL         = "STARGATE_PULSAR_URL"          // ws:// base of an existing cluster (provider "env")
	EnvAdminURL    = "STARGATE_PULSAR_ADMIN_URL"    // its http(s):// admin base
	EnvToken       = "STARGATE_PULSAR_TOKEN"        // optional token to send to it
	EnvTokenSecret = "STARGATE_PULSAR_TOKEN_SECRET" // optional base64 HMAC key: lets the env cluster serve the Token variant
	EnvWSSURL      = "STARGATE_PULSAR_WSS_URL"      // optional wss:// base: lets the env cluster serve the TLS variant…
	EnvCAFile      = "STARGATE_PULSAR_CA_FILE"      // …together with the CA (PEM) that signed its certificate
	EnvState       = "STARGATE_PULSAR_STATE"        // state file written by `go run ./cmd/pulsar up` (provider "state")
	EnvNoDocker    = "STARGATE_NO_DOCKER"           // non-empty: do not try Docker
)

// Options configure Start.
type Options struct {
	// Variant to obtain; default Plain.
	Variant Variant
	// Dedicated skips the shared providers (env, state file, the broker shared
	// by the test binary) and Docker, and starts a local standalone JVM owned
	// by the returned Broker: Close stops it, and Kill/Restart work. Costs a
	// JVM start (~15 s); use it for fault tests only.
	Dedicated bool
	// CacheDir holds the Pulsar distribution; default CacheDir().
	CacheDir string
	// StartTimeout bounds readiness; default 180 s.
	StartTimeout time.Duration
	// Logf receives progress lines; nil discards them.
	Logf func(format string, args ...any)
}

func (o *Options) defaults() {
	if o.Variant == "" {
		o.Variant = Plain
	}
	if o.CacheDir == "" {
		o.CacheDir = CacheDir()
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 180 * time.Second
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
}

// Broker is a running Pulsar with the WebSocket service on.
type Broker struct {
	Variant  Variant
	Provider string // "env", "state", "docker" or "local"

	WSURL       string // ws://127.0.0.1:port — always set
	WSSURL      string // wss://127.0.0.1:port — set for TLS and Token (mTLS) brokers
	AdminURL    string // http://127.0.0.1:port
	AdminTLSURL string // https://… where TLS is on
	ServiceURL  string // pulsar://… (binary protocol), informational

	CAPEM         []byte // CA that signed the server certificate (TLS/Token)
	ClientCertPEM []byte // client certificate signed by the CA, CN=admin
	ClientKeyPEM  []byte // its PKCS#8 key
	// RequireClientCert: WSSURL rejects handshakes without a trusted client certificate.
	RequireClientCert bool
	// LogPath is the broker's log file (local and state providers; "" otherwise).
	LogPath string

	secret []byte // HMAC key; nil when tokens cannot be minted
	token  string // superuser token to send; "" when the broker needs none

	node      *localNode // dedicated local node (Kill/Restart)
	closeFn   func() error
	closeOnce sync.Once
	closeErr  error
}

// Token returns the token clients should send ("Authorization: Bearer …"),
// a superuser token; "" when the broker needs no authentication.
func (b *Broker) Token() string { return b.token }

// CanMintTokens reports whether MintToken works (the HMAC secret is known).
func (b *Broker) CanMintTokens() bool { return len(b.secret) > 0 }

// MintToken signs an HS256 JWT for subject with the broker's secret. expiry 0
// means no "exp" claim; a negative expiry gives an already expired token.
// It panics when the secret is unknown (see CanMintTokens).
func (b *Broker) MintToken(subject string, expiry time.Duration) string {
	if len(b.secret) == 0 {
		panic("dockertest: MintToken on a " + string(b.Variant) + " broker without a token secret")
	}
	return mintHS256(b.secret, subject, expiry)
}

// TLSConfig returns a *tls.Config trusting the broker's CA, presenting the
// generated client certificate when withClientCert is true. ServerName is
// left empty (gws fills it from the URL host; 127.0.0.1 is in the SAN).
func (b *Broker) TLSConfig(withClientCert bool) (*tls.Config, error) {
	if len(b.CAPEM) == 0 {
		return nil, fmt.Errorf("dockertest: %s broker has no CA", b.Variant)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b.CAPEM) {
		return nil, errors.New("dockertest: CA PEM holds no certificate")
	}
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if withClientCert {
		cert, err := tls.X509KeyPair(b.ClientCertPEM, b.ClientKeyPEM)
		if err != nil {
			return nil, fmt.Errorf("dockertest: client key pair: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// Admin returns an admin REST client for the broker, carrying Token().
func (b *Broker) Admin() *Admin { return NewAdmin(b.AdminURL, b.token) }

// ProducerURL is WSURL + /ws/v2/producer/<persistent/t/ns/topic>.
func (b *Broker) ProducerURL(topic string) string { return wsEndpoint(b.WSURL, "producer", topic, "") }

// ConsumerURL is WSURL + /ws/v2/consumer/<persistent/t/ns/topic>/<subscription>.
func (b *Broker) ConsumerURL(topic, subscription string) string {
	return wsEndpoint(b.WSURL, "consumer", topic, subscription)
}

// ReaderURL is WSURL + /ws/v2/reader/<persistent/t/ns/topic>.
func (b *Broker) ReaderURL(topic string) string { return wsEndpoint(b.WSURL, "reader", topic, "") }

func wsEndpoint(base, kind, topic, sub string) string {
	p, err := topicPath(topic)
	if err != nil {
		panic("dockertest: " + err.Error())
	}
	u := base + "/ws/v2/" + kind + "/" + p
	if sub != "" {
		u += "/" + EscapeName(sub)
	}
	return u
}

// Kill sends SIGKILL to a dedicated local broker (Options.Dedicated).
func (b *Broker) Kill() error {
	if b.node == nil {
		return errors.New("dockertest: Kill needs a broker started with Options{Dedicated: true} by the local provider")
	}
	return b.node.kill()
}

// Restart stops a dedicated local broker if it still runs (SIGTERM, then
// SIGKILL after 15 s) and starts it again on the same data directory and
// ports, waiting until it is ready.
func (b *Broker) Restart(ctx context.Context) error {
	if b.node == nil {
		return errors.New("dockertest: Restart needs a broker started with Options{Dedicated: true} by the local provider")
	}
	if err := b.node.stop(15 * time.Second); err != nil {
		return err
	}
	if err := b.node.start(); err != nil {
		return err
	}
	return b.node.waitReady(ctx, 180*time.Second)
}

// Close releases what Start started for this Broker: a dedicated broker is
// stopped and its run directory removed. Shared brokers are left running
// (see Shutdown). Safe to call more than once.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		if b.closeFn != nil {
			b.closeErr = b.closeFn()
		}
	})
	return b.closeErr
}

// StartError is a failed broker start; LogTail holds the last lines of the
// broker's log.
type StartError struct {
	Summary string
	LogTail string
}

func (e *StartError) Error() string {
	if e.LogTail == "" {
		return e.Summary
	}
	return e.Summary + "\n--- last lines of the broker log ---\n" + e.LogTail
}

// Start obtains a running broker for opts.Variant, trying in order:
//  1. env: an existing cluster named by STARGATE_PULSAR_URL / _ADMIN_URL / _TOKEN
//     (Token needs STARGATE_PULSAR_TOKEN_SECRET, TLS needs _WSS_URL and _CA_FILE);
//  2. state: the state file named by STARGATE_PULSAR_STATE (written by `up`);
//  3. docker: apachepulsar/pulsar when a daemon answers a ping within 3 s (Plain only);
//  4. local: a standalone JVM from the Maven tarball, shared by the test binary.
//
// With opts.Dedicated only the local provider is used, and the broker is the
// caller's own.
func Start(ctx context.Context, opts Options) (*Broker, error) {
	opts.defaults()
	if opts.Dedicated {
		return startDedicated(ctx, opts)
	}
	var why []string
	if b, err := fromEnv(opts.Variant); b != nil || err != nil {
		if err != nil {
			return nil, err
		}
		return b, nil
	} else {
		why = append(why, "env: "+EnvURL+" unset or lacks this variant")
	}
	if p := os.Getenv(EnvState); p != "" {
		b, err := fromStateFile(ctx, p, opts.Variant)
		if err != nil {
			return nil, err // a named state file that does not work is an error, not a fall-through
		}
		return b, nil
	}
	why = append(why, "state: "+EnvState+" unset")
	if b, reason := fromDocker(ctx, opts); b != nil {
		return b, nil
	} else {
		why = append(why, "docker: "+reason)
		opts.Logf("dockertest: not using Docker for %s: %s", opts.Variant, reason)
	}
	b, err := sharedLocal(ctx, opts)
	if err != nil {
		var se *StartError
		if errors.As(err, &se) {
			se.Summary = fmt.Sprintf("no %s broker: local: %s (%s)", opts.Variant, se.Summary, strings.Join(why, "; "))
			return nil, se
		}
		return nil, fmt.Errorf("no %s broker: local: %v (%s)", opts.Variant, err, strings.Join(why, "; "))
	}
	return b, nil
}

// Require returns a broker for variant or ends the test: tb.Fatalf under
// CI=true, tb.Skipf otherwise. The broker is shared (see Start); nothing
// needs closing.
func Require(tb testing.TB, variant Variant) *Broker {
	tb.Helper()
	return RequireWith(tb, Options{Variant: variant, Logf: tb.Logf})
}

// RequireWith is Require with Options; a Dedicated broker is closed by
// tb.Cleanup.
func RequireWith(tb testing.TB, opts Options) *Broker {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b, err := Start(ctx, opts)
	if err != nil {
		summary := err.Error()
		var se *StartError
		if errors.As(err, &se) {
			tb.Log(se.LogTail)
			summary = se.Summary
		}
		summary = strings.ReplaceAll(summary, "\n", " ")
		if os.Getenv("CI") == "true" {
			tb.Fatalf("dockertest: %s", summary)
		}
		tb.Skipf("dockertest: %s", summary)
	}
	if opts.Dedicated {
		tb.Cleanup(func() { _ = b.Close() })
	}
	return b
}

// --- env provider -------------------------------------------------------

func fromEnv(v Variant) (*Broker, error) {
	ws := os.Getenv(EnvURL)
	if ws == "" {
		return nil, nil
	}
	admin := os.Getenv(EnvAdminURL)
	if admin == "" {
		u, err := url.Parse(ws)
		if err != nil {
			return nil, fmt.Errorf("%s=%q: %v", EnvURL, ws, err)
		}
		if u.Scheme == "wss" {
			u.Scheme = "https"
		} else {
			u.Scheme = "http"
		}
		admin = u.String()
	}
	b := &Broker{Variant: v, Provider: "env", WSURL: strings.TrimRight(ws, "/"), AdminURL: strings.TrimRight(admin, "/"), token: os.Getenv(EnvToken)}
	if s := os.Getenv(EnvTokenSecret); s != "" {
		secret, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", EnvTokenSecret, err)
		}
		b.secret = secret
		if b.token == "" {
			b.token = mintHS256(secret, "admin", 0)
		}
	}
	switch v {
	case Token:
		if b.secret == nil {
			return nil, nil
		}
	case TLS:
		wss, ca := os.Getenv(EnvWSSURL), os.Getenv(EnvCAFile)
		if wss == "" || ca == "" {
			return nil, nil
		}
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", EnvCAFile, err)
		}
		b.WSSURL, b.CAPEM = strings.TrimRight(wss, "/"), pem
	}
	return b, nil
}

// --- local provider -----------------------------------------------------

var shared struct {
	mu    sync.Mutex
	root  string
	pki   pkiFiles
	nodes map[nodeKind]*localNode
}

// Shutdown stops the brokers this test binary started and shares (local
// provider) and removes their run directories. Call it from TestMain after
// m.Run; if the binary dies first, the JVMs get SIGKILL from the kernel
// (Pdeathsig).
func Shutdown() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	var wg sync.WaitGroup
	for _, n := range shared.nodes {
		wg.Go(func() { _ = n.stop(15 * time.Second) })
	}
	wg.Wait()
	shared.nodes = nil
	if shared.root != "" {
		_ = os.RemoveAll(shared.root)
		shared.root = ""
	}
	sharedDocker.mu.Lock()
	if sharedDocker.b != nil {
		_ = sharedDocker.close()
		sharedDocker.b = nil
	}
	sharedDocker.mu.Unlock()
}

func newRunRoot(prefix string) (string, pkiFiles, error) {
	root, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", pkiFiles{}, err
	}
	pki, err := generatePKI(filepath.Join(root, "pki"))
	if err != nil {
		os.RemoveAll(root)
		return "", pkiFiles{}, fmt.Errorf("generating test certificates: %w", err)
	}
	return root, pki, nil
}

func sharedLocal(ctx context.Context, opts Options) (*Broker, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	kind := nodeFor(opts.Variant)
	if n := shared.nodes[kind]; n != nil {
		select {
		case <-n.done:
			delete(shared.nodes, kind) // died (or was killed): start a new one
		default:
			return n.broker(opts.Variant, "local")
		}
	}
	if shared.root == "" {
		root, pki, err := newRunRoot("stargate-pulsar-*")
		if err != nil {
			return nil, err
		}
		shared.root, shared.pki = root, pki
		shared.nodes = map[nodeKind]*localNode{}
	}
	n, err := launch(ctx, kind, filepath.Join(shared.root, string(kind)), shared.pki, opts, false)
	if err != nil {
		return nil, err
	}
	shared.nodes[kind] = n
	return n.broker(opts.Variant, "local")
}

func startDedicated(ctx context.Context, opts Options) (*Broker, error) {
	root, pki, err := newRunRoot("stargate-pulsar-dedicated-*")
	if err != nil {
		return nil, err
	}
	n, err := launch(ctx, nodeFor(opts.Variant), filepath.Join(root, string(nodeFor(opts.Variant))), pki, opts, false)
	if err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	b, err := n.broker(opts.Variant, "local")
	if err != nil {
		n.stop(15 * time.Second)
		os.RemoveAll(root)
		return nil, err
	}
	b.node = n
	b.closeFn = func() error {
		err := n.stop(15 * time.Second)
		os.RemoveAll(root)
		return err
	}
	return b, nil
}

// launch prepares, starts and waits for one node; on failure nothing is left running.
func launch(ctx context.Context, kind nodeKind, dir string, pki pkiFiles, opts Options, detached bool) (*localNode, error) {
	n, err := newLocalNode(ctx, kind, dir, pki, opts.CacheDir, detached, opts.Logf)
	if err != nil {
		return nil, err
	}
	opts.Logf("starting pulsar %s %s node in %s (web %d, broker %d, web TLS %d)", PulsarVersion, kind, dir, n.ports.Web, n.ports.Broker, n.ports.WebTLS)
	if err := n.start(); err != nil {
		return nil, err
	}
	if err := n.waitReady(ctx, opts.StartTimeout); err != nil {
		_ = n.stop(5 * time.Second)
		return nil, err
	}
	opts.Logf("pulsar %s node ready after %s", kind, n.readyAfter.Round(100*time.Millisecond))
	return n, nil
}

func (n *localNode) info(v Variant) BrokerInfo {
	info := BrokerInfo{
		Node:              string(n.kind),
		PID:               n.pid,
		Dir:               n.dir,
		Log:               n.logPath,
		WSURL:             fmt.Sprintf("ws://127.0.0.1:%d", n.ports.Web),
		AdminURL:          n.adminURL(),
		ServiceURL:        fmt.Sprintf("pulsar://127.0.0.1:%d", n.ports.Broker),
		WSSURL:            fmt.Sprintf("wss://127.0.0.1:%d", n.ports.WebTLS),
		AdminTLSURL:       fmt.Sprintf("https://127.0.0.1:%d", n.ports.WebTLS),
		CAFile:            n.pki.CA,
		ClientCertFile:    n.pki.ClientCert,
		ClientKeyFile:     n.pki.ClientKey,
		RequireClientCert: n.kind == nodeToken,
		Token:             n.adminToken,
	}
	if n.secret != nil {
		info.TokenSecret = base64.StdEncoding.EncodeToString(n.secret)
	}
	return info
}

func (n *localNode) broker(v Variant, provider string) (*Broker, error) {
	return brokerFromInfo(v, provider, n.info(v))
}
