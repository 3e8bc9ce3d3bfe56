package integration

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/dockertest"
	"github.com/stargate-go/stargate/internal/proxytest"
)

// proxiedRoundTrip produces one message through client and reads it back.
func proxiedRoundTrip(t *testing.T, client *stargate.Client, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := client.NewConsumer(ctx, topic, "sub", nil)
	if err != nil {
		t.Fatalf("NewConsumer: %v", err)
	}
	defer c.Close()
	p, err := client.NewProducer(ctx, topic, nil)
	if err != nil {
		t.Fatalf("NewProducer: %v", err)
	}
	defer p.Close()
	if _, err := p.Send(ctx, stargate.Message{Payload: []byte("through the proxy")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	for m, err := range c.Messages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Payload) != "through the proxy" {
			t.Errorf("got %q", m.Payload)
		}
		_ = m.Ack(ctx)
		break
	}
}

func hostOf(t *testing.T, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// ws:// and wss:// (TLS end to end with the broker inside the tunnel)
// through a CONNECT proxy with credentials, and wss:// through an https://
// proxy (TLS to the proxy, and TLS to the broker inside it).
func TestProxyConnectPlainAndTLS(t *testing.T) {
	checkLeaks(t)
	b := dockertest.Require(t, dockertest.TLS)
	pool, err := stargate.CertPoolFromPEM(b.CAPEM)
	if err != nil {
		t.Fatal(err)
	}
	// An https:// proxy presents httptest's certificate, trusted alongside
	// the broker's CA.
	cert := httptest.NewTLSServer(http.NotFoundHandler())
	cert.Close()
	pool.AddCert(cert.Certificate())
	for _, tc := range []struct {
		name, base string
		proxyTLS   bool
	}{{"ws", b.WSURL, false}, {"wss", b.WSSURL, false}, {"wss via https proxy", b.WSSURL, true}} {
		base := tc.base
		t.Run(tc.name, func(t *testing.T) {
			po := proxytest.Options{User: "alice", Password: "pw"}
			if tc.proxyTLS {
				po.TLS = &tls.Config{Certificates: cert.TLS.Certificates}
			}
			prx := proxytest.New(t, po)
			client, _ := stargate.NewClient(base, &stargate.ClientOptions{
				RootCAs: pool,
				Proxy:   http.ProxyURL(prx.URLWithAuth("alice", "pw")),
			})
			proxiedRoundTrip(t, client, dockertest.UniqueTopic(t))
			if got := prx.Connects(); len(got) != 2 || got[0] != hostOf(t, base) {
				t.Errorf("tunnels %v, want two to %s", got, hostOf(t, base))
			}
		})
	}
}

// Wrong or missing proxy credentials: a typed 407 naming the proxy, never
// its password, and nothing reaches the broker.
func TestProxyConnectAuthRefused(t *testing.T) {
	checkLeaks(t)
	b := dockertest.Require(t, dockertest.Plain)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	prx := proxytest.New(t, proxytest.Options{User: "alice", Password: "pw"})
	for name, u := range map[string]*url.URL{"wrong": prx.URLWithAuth("alice", "guess-42"), "none": prx.URL()} {
		client, _ := stargate.NewClient(b.WSURL, &stargate.ClientOptions{Proxy: http.ProxyURL(u)})
		_, err := client.NewProducer(ctx, dockertest.UniqueTopic(t), nil)
		var pe *stargate.ProxyError
		if !errors.As(err, &pe) || pe.StatusCode != http.StatusProxyAuthRequired {
			t.Fatalf("%s: err = %v, want a 407 *ProxyError", name, err)
		}
		if !strings.Contains(err.Error(), prx.URL().Host) || strings.Contains(err.Error(), "guess-42") {
			t.Errorf("%s: err = %v: want the proxy named, without its password", name, err)
		}
	}
	if len(prx.Connects()) != 0 {
		t.Errorf("tunnels %v despite refused credentials", prx.Connects())
	}
}

// A proxy whose connections all die mid-stream, twice: producer and
// consumer reconnect through it, and every message the broker acknowledged
// reaches the consumer.
func TestProxyConnectDiesMidStream(t *testing.T) {
	checkLeaks(t)
	b := dockertest.Require(t, dockertest.Plain)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	prx := proxytest.New(t, proxytest.Options{})
	client, _ := stargate.NewClient(b.WSURL, &stargate.ClientOptions{
		Proxy:             http.ProxyURL(prx.URL()),
		ReconnectDelay:    50 * time.Millisecond,
		MaxReconnectDelay: 500 * time.Millisecond,
	})
	topic := dockertest.UniqueTopic(t)
	c, err := client.NewConsumer(ctx, topic, "sub", &stargate.ConsumerOptions{Type: stargate.Shared})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := client.NewProducer(ctx, topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	const n = 300
	acked := make(chan string, n)
	var sends sync.WaitGroup
	sends.Go(func() {
		for i := range n {
			body := fmt.Sprintf("m-%03d", i)
			f := p.Send(ctx, stargate.Message{Payload: []byte(body)})
			sends.Go(func() {
				if _, err := f.Wait(ctx); err == nil {
					acked <- body
				} else {
					t.Errorf("send %s: %v", body, err)
				}
			})
			if i == n/3 || i == 2*n/3 {
				if k := prx.KillConns(); k == 0 {
					t.Error("no proxied connection to kill")
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
	})

	got := map[string]bool{}
	rctx, rcancel := context.WithTimeout(ctx, time.Minute)
	defer rcancel()
	for m, err := range c.Messages(rctx) {
		if err != nil {
			t.Fatalf("after %d distinct messages: %v", len(got), err)
		}
		got[string(m.Payload)] = true
		if err := m.Ack(rctx); err != nil && !errors.Is(err, stargate.ErrClosed) {
			t.Logf("ack %s: %v (redelivery expected)", m.Payload, err)
		}
		if len(got) == n {
			break
		}
	}
	sends.Wait()
	close(acked)
	for body := range acked {
		if !got[body] {
			t.Errorf("acknowledged message %s never reached the consumer", body)
		}
	}
	if k := len(prx.Connects()); k < 4 {
		t.Errorf("%d tunnels, want the first two and the reconnects", k)
	}
}

// The environment path: HTTP_PROXY for ws://, HTTPS_PROXY for wss://,
// NO_PROXY honoured, loopback never proxied — as net/http does. It runs in
// a child process, because http.ProxyFromEnvironment reads the environment
// only once per process. Loopback addresses are never proxied from the
// environment, so the broker is named pulsar.test: the proxies map that
// name to 127.0.0.1, and without a proxy NetDialContext does.
func TestProxyConnectEnvironment(t *testing.T) {
	if os.Getenv("STARGATE_PROXY_ENV_CHILD") != "" {
		proxyEnvChild(t)
		return
	}
	checkLeaks(t)
	b := dockertest.Require(t, dockertest.TLS)
	wsHost, wssHost := hostOf(t, b.WSURL), hostOf(t, b.WSSURL)
	_, wsPort, _ := net.SplitHostPort(wsHost)
	_, wssPort, _ := net.SplitHostPort(wssHost)
	resolve := map[string]string{"pulsar.test:" + wsPort: wsHost, "pulsar.test:" + wssPort: wssHost}

	for _, tc := range []struct {
		name             string
		noProxy          string
		wantHTTP, wantTS int // tunnels expected through the HTTP_PROXY and HTTPS_PROXY proxies
	}{
		{"proxied", "", 1, 1},
		{"NO_PROXY", "example.com,.test", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			httpProxy := proxytest.New(t, proxytest.Options{Resolve: resolve})
			httpsProxy := proxytest.New(t, proxytest.Options{Resolve: resolve, User: "bob", Password: "pw"})
			cmd := exec.Command(os.Args[0], "-test.run=^TestProxyConnectEnvironment$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(),
				"STARGATE_PROXY_ENV_CHILD=1",
				"STARGATE_TEST_WS_URL=ws://pulsar.test:"+wsPort,
				"STARGATE_TEST_WSS_URL=wss://pulsar.test:"+wssPort,
				"STARGATE_TEST_LOOPBACK_URL="+b.WSURL,
				"HTTP_PROXY="+httpProxy.URL().String(),
				"HTTPS_PROXY="+httpsProxy.URLWithAuth("bob", "pw").String(),
				"NO_PROXY="+tc.noProxy,
				"http_proxy=", "https_proxy=", "no_proxy=", // the upper-case forms rule
			)
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "--- PASS: TestProxyConnectEnvironment") {
				t.Fatalf("child: %v\n%s", err, out)
			}
			if got := httpProxy.Connects(); len(got) != tc.wantHTTP || (len(got) > 0 && got[0] != "pulsar.test:"+wsPort) {
				t.Errorf("HTTP_PROXY tunnels %v, want %d to pulsar.test:%s", got, tc.wantHTTP, wsPort)
			}
			if got := httpsProxy.Connects(); len(got) != tc.wantTS || (len(got) > 0 && got[0] != "pulsar.test:"+wssPort) {
				t.Errorf("HTTPS_PROXY tunnels %v, want %d to pulsar.test:%s", got, tc.wantTS, wssPort)
			}
		})
	}
}

// proxyEnvChild connects with the default Proxy (the environment): once
// over ws, once over wss, and once to the loopback URL, which net/http
// never proxies.
func proxyEnvChild(t *testing.T) {
	b := dockertest.Require(t, dockertest.TLS)
	cfg, err := b.TLSConfig(false)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ServerName = "127.0.0.1" // the broker's certificate does not know pulsar.test
	var d net.Dialer
	dialer := func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, _ := net.SplitHostPort(addr)
		if host == "pulsar.test" {
			addr = net.JoinHostPort("127.0.0.1", port) // our own name service, for the NO_PROXY case
		}
		return d.DialContext(ctx, network, addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, base := range []string{os.Getenv("STARGATE_TEST_WS_URL"), os.Getenv("STARGATE_TEST_WSS_URL"), os.Getenv("STARGATE_TEST_LOOPBACK_URL")} {
		client, err := stargate.NewClient(base, &stargate.ClientOptions{TLSConfig: cfg, NetDialContext: dialer})
		if err != nil {
			t.Fatal(err)
		}
		r, err := client.NewReader(ctx, dockertest.UniqueTopic(t), nil)
		if err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		r.Close()
	}
}
