package dockertest_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lxzan/gws"
	"go.uber.org/goleak"

	"github.com/stargate-go/stargate/dockertest"
)

type mainWithShutdown struct{ m *testing.M }

// Run stops the brokers this binary started itself (only when no state file
// or env cluster was given) before goleak looks for leftover goroutines.
func (w mainWithShutdown) Run() int {
	code := w.m.Run()
	dockertest.Shutdown()
	return code
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(mainWithShutdown{m}) }

// --- a minimal gws client -----------------------------------------------

type wsClient struct {
	gws.BuiltinEventHandler
	conn   *gws.Conn
	msgs   chan []byte
	closed chan error
}

func (c *wsClient) OnPing(conn *gws.Conn, p []byte) { _ = conn.WritePong(p) }
func (c *wsClient) OnClose(_ *gws.Conn, err error)  { c.closed <- err }
func (c *wsClient) OnMessage(_ *gws.Conn, m *gws.Message) {
	b := bytes.Clone(m.Bytes())
	m.Close()
	select {
	case c.msgs <- b:
	default: // a test that stops reading must not wedge the read loop
	}
}

// dial opens a WebSocket to addr. On success the read loop runs and the
// connection is closed at test cleanup.
func dial(t *testing.T, addr, token string, tlsCfg *tls.Config) (*wsClient, *http.Response, error) {
	t.Helper()
	c := &wsClient{msgs: make(chan []byte, 64), closed: make(chan error, 1)}
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	opt := &gws.ClientOption{Addr: addr, RequestHeader: h, HandshakeTimeout: 10 * time.Second, Recovery: gws.Recovery}
	if tlsCfg != nil {
		opt.TlsConfig = tlsCfg.Clone()
	}
	conn, resp, err := gws.NewClient(c, opt)
	if err != nil {
		return nil, resp, err
	}
	c.conn = conn
	go conn.ReadLoop()
	t.Cleanup(func() {
		_ = conn.NetConn().Close()
		select {
		case <-c.closed:
		case <-time.After(5 * time.Second):
			t.Errorf("read loop of %s did not end", addr)
		}
	})
	return c, resp, nil
}

func mustDial(t *testing.T, addr, token string, tlsCfg *tls.Config) *wsClient {
	t.Helper()
	c, resp, err := dial(t, addr, token, tlsCfg)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (HTTP %d)", addr, err, status)
	}
	return c
}

func (c *wsClient) sendJSON(t *testing.T, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.conn.WriteMessage(gws.OpcodeText, b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func (c *wsClient) recvJSON(t *testing.T, v any, timeout time.Duration) {
	t.Helper()
	select {
	case b := <-c.msgs:
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("decoding %s: %v", b, err)
		}
	case err := <-c.closed:
		t.Fatalf("connection closed while waiting for a message: %v", err)
	case <-time.After(timeout):
		t.Fatalf("no message within %s", timeout)
	}
}

type producerAck struct {
	Result    string `json:"result"`
	MessageID string `json:"messageId"`
	Context   string `json:"context"`
	ErrorMsg  string `json:"errorMsg"`
}

type consumerMsg struct {
	MessageID  string            `json:"messageId"`
	Payload    string            `json:"payload"`
	Properties map[string]string `json:"properties"`
}

// produceConsume subscribes, publishes one message and checks it arrives.
func produceConsume(t *testing.T, b *dockertest.Broker, wsBase string, tlsCfg *tls.Config) {
	t.Helper()
	topic := dockertest.UniqueTopic(t)
	path := strings.TrimPrefix(b.ProducerURL(topic), b.WSURL) // /ws/v2/producer/persistent/…
	cons := mustDial(t, wsBase+strings.Replace(path, "/producer/", "/consumer/", 1)+"/sub?subscriptionInitialPosition=Earliest", b.Token(), tlsCfg)
	prod := mustDial(t, wsBase+path, b.Token(), tlsCfg)

	payload := []byte("hello stargate " + t.Name())
	prod.sendJSON(t, map[string]any{
		"payload":    base64.StdEncoding.EncodeToString(payload),
		"properties": map[string]string{"a": "b"},
		"context":    "1",
	})
	var ack producerAck
	prod.recvJSON(t, &ack, 30*time.Second)
	if ack.Result != "ok" || ack.MessageID == "" || ack.Context != "1" {
		t.Fatalf("producer ack = %+v, want result ok, a messageId and context 1", ack)
	}

	var msg consumerMsg
	cons.recvJSON(t, &msg, 30*time.Second)
	got, err := base64.StdEncoding.DecodeString(msg.Payload)
	if err != nil {
		t.Fatalf("payload %q: %v", msg.Payload, err)
	}
	if !bytes.Equal(got, payload) || msg.Properties["a"] != "b" || msg.MessageID == "" {
		t.Fatalf("consumer got %+v (payload %q), want payload %q and properties a=b", msg, got, payload)
	}
	cons.sendJSON(t, map[string]string{"messageId": msg.MessageID})
}

// Exclusive subscriptions do not track unackedMessages (only Shared and
// Key_Shared do); the unacknowledged messages show up as msgBacklog.

// --- tests ----------------------------------------------------------------

func TestProduceConsumePlain(t *testing.T) {
	b := dockertest.Require(t, dockertest.Plain)
	t.Logf("broker %s via %s", b.WSURL, b.Provider)
	produceConsume(t, b, b.WSURL, nil)
}

func TestTokenAuth(t *testing.T) {
	b := dockertest.Require(t, dockertest.Token)
	if !b.CanMintTokens() {
		t.Skip("token secret unknown: cannot mint tokens")
	}
	addr := b.ProducerURL(dockertest.UniqueTopic(t))

	forged := forgeToken("admin")
	for _, tc := range []struct{ name, token string }{
		{"no token", ""},
		{"garbage", "not-a-jwt"},
		{"wrong key", forged},
		{"expired", b.MintToken("admin", -time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, resp, err := dial(t, addr, tc.token, nil)
			if err == nil {
				t.Fatal("handshake succeeded, want 401")
			}
			if resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("err %v, response %v; want HTTP 401", err, resp)
			}
		})
	}
	t.Run("good token", func(t *testing.T) {
		mustDial(t, addr, b.MintToken("stargate-test", time.Hour), nil)
	})
	t.Run("produce and consume", func(t *testing.T) {
		produceConsume(t, b, b.WSURL, nil)
	})
	t.Run("admin needs the token", func(t *testing.T) {
		ctx := context.Background()
		if _, err := dockertest.NewAdmin(b.AdminURL, "").Clusters(ctx); !dockertest.IsStatus(err, http.StatusUnauthorized) {
			t.Fatalf("anonymous admin call: %v, want HTTP 401", err)
		}
		if _, err := b.Admin().Clusters(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// forgeToken signs a token with a key the broker does not know.
func forgeToken(sub string) string {
	enc := base64.RawURLEncoding
	h := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	p := enc.EncodeToString([]byte(`{"sub":"` + sub + `"}`))
	return h + "." + p + "." + enc.EncodeToString(bytes.Repeat([]byte{7}, 32))
}

func TestTLS(t *testing.T) {
	b := dockertest.Require(t, dockertest.TLS)
	if b.WSSURL == "" {
		t.Skip("broker has no wss:// endpoint")
	}
	addr := b.WSSURL + strings.TrimPrefix(b.ProducerURL(dockertest.UniqueTopic(t)), b.WSURL)

	t.Run("unknown CA", func(t *testing.T) {
		_, _, err := dial(t, addr, b.Token(), &tls.Config{RootCAs: x509.NewCertPool()})
		var unknown x509.UnknownAuthorityError
		var verify *tls.CertificateVerificationError
		if !errors.As(err, &unknown) && !errors.As(err, &verify) {
			t.Fatalf("handshake with an empty trust store: %v, want an x509 verification error", err)
		}
	})
	t.Run("trusted CA", func(t *testing.T) {
		cfg, err := b.TLSConfig(false)
		if err != nil {
			t.Fatal(err)
		}
		produceConsume(t, b, b.WSSURL, cfg)
	})
}

// TestMutualTLS uses the token broker, whose wss:// port requires a trusted
// client certificate (tlsRequireTrustedClientCertOnConnect=true).
func TestMutualTLS(t *testing.T) {
	b := dockertest.Require(t, dockertest.Token)
	if b.WSSURL == "" || !b.RequireClientCert {
		t.Skip("no wss:// endpoint requiring client certificates")
	}
	addr := b.WSSURL + strings.TrimPrefix(b.ProducerURL(dockertest.UniqueTopic(t)), b.WSURL)
	t.Run("without client cert", func(t *testing.T) {
		cfg, err := b.TLSConfig(false)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := dial(t, addr, b.Token(), cfg); err == nil {
			t.Fatal("wss handshake without a client certificate succeeded")
		} else {
			t.Logf("rejected as expected: %v", err)
		}
	})
	t.Run("with client cert", func(t *testing.T) {
		cfg, err := b.TLSConfig(true)
		if err != nil {
			t.Fatal(err)
		}
		produceConsume(t, b, b.WSSURL, cfg)
	})
}

func poll(t *testing.T, what string, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func TestAdminPartitionedTopic(t *testing.T) {
	b := dockertest.Require(t, dockertest.Plain)
	ctx := context.Background()
	a := b.Admin()
	topic := dockertest.UniqueTopic(t)
	if err := a.CreatePartitionedTopic(ctx, topic, 3); err != nil {
		t.Fatal(err)
	}
	poll(t, "partitioned stats", 30*time.Second, func() error {
		st, err := a.PartitionedStats(ctx, topic)
		if err != nil {
			return err
		}
		if st.Metadata.Partitions != 3 || len(st.Partitions) != 3 {
			return errors.New("want 3 partitions in metadata and per-partition stats, got " + string(mustJSON(st.Metadata)) + " / " + strings.Join(keys(st.Partitions), ","))
		}
		return nil
	})
	if err := a.DeletePartitionedTopic(ctx, topic); err != nil {
		t.Fatal(err)
	}
}

func TestAdminTopicLifecycle(t *testing.T) {
	b := dockertest.Require(t, dockertest.Plain)
	ctx := context.Background()
	a := b.Admin()
	tenant := strings.ToLower(dockertest.UniqueName(t))
	if err := a.CreateTenant(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateNamespace(ctx, tenant+"/ns", dockertest.NamespaceOptions{InfiniteRetention: true}); err != nil {
		t.Fatal(err)
	}
	topic := "persistent://" + tenant + "/ns/t"
	cons := mustDial(t, b.ConsumerURL(topic, "sub"), b.Token(), nil)
	prod := mustDial(t, b.ProducerURL(topic), b.Token(), nil)
	for i := range 3 {
		prod.sendJSON(t, map[string]any{"payload": base64.StdEncoding.EncodeToString([]byte{byte(i)})})
		var ack producerAck
		prod.recvJSON(t, &ack, 30*time.Second)
		if ack.Result != "ok" {
			t.Fatalf("ack %+v", ack)
		}
	}
	for range 3 {
		var m consumerMsg
		cons.recvJSON(t, &m, 30*time.Second)
	}
	subs, err := a.Subscriptions(ctx, topic)
	if err != nil || !slices.Contains(subs, "sub") {
		t.Fatalf("subscriptions = %v, %v; want [sub]", subs, err)
	}
	poll(t, "topic stats", 30*time.Second, func() error {
		st, err := a.TopicStats(ctx, topic)
		if err != nil {
			return err
		}
		s, ok := st.Subscriptions["sub"]
		if st.MsgInCounter != 3 || st.MsgOutCounter != 3 || len(st.Publishers) != 1 || !ok || len(s.Consumers) != 1 || s.MsgBacklog != 3 {
			return errors.New("stats " + string(mustJSON(st)))
		}
		return nil
	})
	last, err := a.TerminateTopic(ctx, topic)
	if err != nil || last.EntryID < 0 {
		t.Fatalf("terminate: %#v, %v", last, err)
	}
	if err := a.DeleteTopic(ctx, topic); err != nil {
		t.Fatal(err)
	}
	if _, err := a.TopicStats(ctx, topic); !dockertest.IsStatus(err, http.StatusNotFound) {
		t.Fatalf("stats after delete: %v, want 404", err)
	}
}

// TestKillRestart starts its own broker, kills it with SIGKILL and restarts
// it on the same data directory: a message published before the kill is
// still there afterwards (RocksDB metadata and the bookie's ledgers survive).
func TestKillRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a dedicated JVM")
	}
	if os.Getenv(dockertest.EnvURL) != "" && os.Getenv("CI") != "true" {
		t.Skip("pointed at an existing cluster")
	}
	b := dockertest.RequireWith(t, dockertest.Options{Variant: dockertest.Plain, Dedicated: true, Logf: t.Logf})
	topic := dockertest.UniqueTopic(t)
	ctx := context.Background()

	// A durable subscription, then a message for it.
	func() {
		c, _, err := dial(t, b.ConsumerURL(topic, "sub"), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.conn.NetConn().Close()
		<-c.closed
		c.closed <- nil // the cleanup waits on it
	}()
	prod := mustDial(t, b.ProducerURL(topic), "", nil)
	prod.sendJSON(t, map[string]any{"payload": base64.StdEncoding.EncodeToString([]byte("survivor"))})
	var ack producerAck
	prod.recvJSON(t, &ack, 30*time.Second)
	if ack.Result != "ok" {
		t.Fatalf("ack %+v", ack)
	}

	if err := b.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-prod.closed:
		prod.closed <- nil
	case <-time.After(10 * time.Second):
		t.Fatal("producer connection survived SIGKILL")
	}
	t0 := time.Now()
	if err := b.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("restarted in %s", time.Since(t0).Round(100*time.Millisecond))

	cons := mustDial(t, b.ConsumerURL(topic, "sub"), "", nil)
	var m consumerMsg
	cons.recvJSON(t, &m, 60*time.Second)
	if got, _ := base64.StdEncoding.DecodeString(m.Payload); string(got) != "survivor" {
		t.Fatalf("after restart got %+v", m)
	}
	// Both starts must have used the RocksDB metadata store: a stray
	// ZooKeeper data dir would silently switch the restart to ZooKeeper mode.
	log, err := os.ReadFile(b.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	// The bookie must come back under the same ID (host:port), or the
	// ledgers written before the kill would point at a bookie that is gone.
	var bookies []string
	for _, l := range strings.Split(string(log), "\n") {
		if _, after, ok := strings.Cut(l, "PulsarRegistrationClient - Bookie "); ok {
			bookies = append(bookies, strings.Fields(after)[0])
		}
	}
	if len(bookies) < 2 || slices.ContainsFunc(bookies, func(id string) bool { return id != bookies[0] }) {
		t.Errorf("bookie registrations %v, want one ID, registered at least twice", bookies)
	}
	if n := bytes.Count(log, []byte("Starting BK with RocksDb metadata store")); n != 2 {
		t.Errorf("log shows %d RocksDB-mode starts, want 2", n)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
