package integration

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/dockertest"
	"github.com/stargate-go/stargate/internal/proxytest"
	"github.com/stargate-go/stargate/oauth2"
)

// recordTokens wraps a provider and keeps every token it handed out.
type recordTokens struct {
	mu   sync.Mutex
	toks []string
	tp   func(context.Context) (string, error)
}

func (r *recordTokens) provide(ctx context.Context) (string, error) {
	tok, err := r.tp(ctx)
	if err == nil {
		r.mu.Lock()
		r.toks = append(r.toks, tok)
		r.mu.Unlock()
	}
	return tok, err
}

func (r *recordTokens) last() (string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.toks) == 0 {
		return "", 0
	}
	return r.toks[len(r.toks)-1], len(r.toks)
}

// sendAndTake sends one message with p and takes it from c.
func sendAndTake(t *testing.T, ctx context.Context, p *stargate.Producer, c *stargate.Consumer, body string) {
	t.Helper()
	if _, err := p.Send(ctx, stargate.Message{Payload: []byte(body)}).Wait(ctx); err != nil {
		t.Fatalf("send %s: %v", body, err)
	}
	for m, err := range c.Messages(ctx) {
		if err != nil {
			t.Fatalf("receive %s: %v", body, err)
		}
		_ = m.Ack(ctx)
		if string(m.Payload) == body {
			return
		}
	}
}

// The token broker accepts what a token file holds; a rotated file is sent
// at the next reconnect, and a file rotated to a bad token ends the handle
// with 401 — the file really is read again.
func TestTokenFromFileRotation(t *testing.T) {
	checkLeaks(t)
	b := dockertest.Require(t, dockertest.Token)
	if !b.CanMintTokens() {
		t.Skip("the token broker's secret is unknown")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	path := filepath.Join(t.TempDir(), "token")
	write := func(tok string) {
		if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	first, second := b.MintToken("admin", time.Hour), b.MintToken("admin", 2*time.Hour)
	bad := b.MintToken("admin", 0)
	bad = bad[:len(bad)-4] + "AAAA"
	write(first)

	prx := proxytest.New(t, proxytest.Options{}) // to cut connections at will
	rec := &recordTokens{tp: stargate.TokenFromFile(path)}
	client, _ := stargate.NewClient(b.WSURL, &stargate.ClientOptions{
		TokenProvider:  rec.provide,
		Proxy:          http.ProxyURL(prx.URL()),
		ReconnectDelay: 50 * time.Millisecond,
	})
	topic := dockertest.UniqueTopic(t)
	c, err := client.NewConsumer(ctx, topic, "sub", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := client.NewProducer(ctx, topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	sendAndTake(t, ctx, p, c, "one")

	write(second)
	prx.KillConns()
	sendAndTake(t, ctx, p, c, "two")
	if tok, n := rec.last(); tok != second || n < 4 {
		t.Errorf("after rotation: %d dials, last token is the second: %v", n, tok == second)
	}

	write(bad)
	prx.KillConns()
	for _, err := range c.Messages(ctx) {
		if !errors.Is(err, stargate.ErrUnauthorized) {
			t.Fatalf("consumer after a bad rotation: %v, want ErrUnauthorized", err)
		}
	}
}

// An identity provider that mints real broker tokens: discovery, the
// client credentials grant, and a token the broker validates; with a short
// lifetime, the reconnect after expiry presents a new token and succeeds,
// where the old one is refused.
func TestTokenOAuth2ClientCredentials(t *testing.T) {
	checkLeaks(t)
	b := dockertest.Require(t, dockertest.Token)
	if !b.CanMintTokens() {
		t.Skip("the token broker's secret is unknown")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const lifetime = 3 * time.Second
	var mu sync.Mutex
	var issued []string
	mux := http.NewServeMux()
	var idp *httptest.Server
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":%q,"token_endpoint":%q}`, idp.URL, idp.URL+"/oauth/token")
	})
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.FormValue("grant_type") != "client_credentials" || r.FormValue("client_id") != "stargate-it" ||
			r.FormValue("client_secret") != "it-secret" || r.FormValue("audience") != "urn:pulsar:test" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
			return
		}
		tok := b.MintToken("admin", lifetime)
		mu.Lock()
		issued = append(issued, tok)
		mu.Unlock()
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":%d}`, tok, int(lifetime.Seconds()))
	})
	idp = httptest.NewServer(mux)
	defer idp.Close()
	key := filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(key, []byte(`{"type":"client_credentials","client_id":"stargate-it","client_secret":"it-secret"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := oauth2.New(oauth2.Config{IssuerURL: idp.URL, Audience: "urn:pulsar:test", KeyFile: key, HTTPClient: idp.Client()})
	if err != nil {
		t.Fatal(err)
	}

	prx := proxytest.New(t, proxytest.Options{})
	client, _ := stargate.NewClient(b.WSURL, &stargate.ClientOptions{
		TokenProvider:  src.Token,
		Proxy:          http.ProxyURL(prx.URL()),
		ReconnectDelay: 50 * time.Millisecond,
	})
	topic := dockertest.UniqueTopic(t)
	c, err := client.NewConsumer(ctx, topic, "sub", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := client.NewProducer(ctx, topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	sendAndTake(t, ctx, p, c, "first token")
	mu.Lock()
	n, old := len(issued), issued[0]
	mu.Unlock()
	if n != 1 {
		t.Fatalf("%d tokens issued for two dials, want 1 (cached)", n)
	}

	time.Sleep(lifetime + 500*time.Millisecond) // the first token has expired
	expired, _ := stargate.NewClient(b.WSURL, &stargate.ClientOptions{Token: old, Proxy: stargate.NoProxy})
	if _, err := expired.NewReader(ctx, topic, nil); !errors.Is(err, stargate.ErrUnauthorized) {
		t.Fatalf("the expired token: %v, want ErrUnauthorized", err)
	}
	prx.KillConns() // both handles reconnect, and must fetch a new token
	sendAndTake(t, ctx, p, c, "refreshed token")
	mu.Lock()
	n = len(issued)
	mu.Unlock()
	if n < 2 {
		t.Errorf("%d tokens issued, want a new one after expiry", n)
	}
}
