package integration

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/dockertest"
)

func TestTokenAuth(t *testing.T) {
	b := dockertest.Require(t, dockertest.Token)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topic := dockertest.UniqueTopic(t)

	good, err := stargate.NewClient(b.WSURL, &stargate.ClientOptions{Token: b.Token()})
	if err != nil {
		t.Fatal(err)
	}
	p, err := good.NewProducer(ctx, topic, nil)
	if err != nil {
		t.Fatalf("with a good token: %v", err)
	}
	if _, err := p.Send(ctx, stargate.Message{Payload: []byte("t")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	p.Close()

	calls := 0
	provider, _ := stargate.NewClient(b.WSURL, &stargate.ClientOptions{TokenProvider: func(context.Context) (string, error) {
		calls++
		return b.Token(), nil
	}})
	c, err := provider.NewConsumer(ctx, topic, "sub", nil)
	if err != nil || calls != 1 {
		t.Fatalf("token provider: %v, %d calls", err, calls)
	}
	c.Close()

	query, _ := stargate.NewClient(b.WSURL, &stargate.ClientOptions{Token: b.Token(), TokenInQuery: true})
	if r, err := query.NewReader(ctx, topic, nil); err != nil {
		t.Fatalf("token in query: %v", err)
	} else {
		r.Close()
	}

	bad := b.MintToken("intruder", 0)
	bad = bad[:len(bad)-4] + "AAAA" // broken signature
	for name, opts := range map[string]*stargate.ClientOptions{
		"no token":     nil,
		"bad token":    {Token: bad},
		"bad in query": {Token: bad, TokenInQuery: true},
	} {
		cl, _ := stargate.NewClient(b.WSURL, opts)
		_, err := cl.NewProducer(ctx, topic, nil)
		if !errors.Is(err, stargate.ErrUnauthorized) {
			t.Errorf("%s: %v, want ErrUnauthorized", name, err)
			continue
		}
		if strings.Contains(err.Error(), bad) {
			t.Errorf("%s: the error shows the token: %v", name, err)
		}
	}
}

func TestTLSAndMutualTLS(t *testing.T) {
	b := dockertest.Require(t, dockertest.TLS)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topic := dockertest.UniqueTopic(t)
	pool, err := stargate.CertPoolFromPEM(b.CAPEM)
	if err != nil {
		t.Fatal(err)
	}
	trusted, _ := stargate.NewClient(b.WSSURL, &stargate.ClientOptions{RootCAs: pool})
	p, err := trusted.NewProducer(ctx, topic, nil)
	if err != nil {
		t.Fatalf("wss with the CA: %v", err)
	}
	if _, err := p.Send(ctx, stargate.Message{Payload: []byte("tls")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	p.Close()

	untrusted, _ := stargate.NewClient(b.WSSURL, nil)
	if _, err := untrusted.NewProducer(ctx, topic, nil); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("wss without the CA: %v, want a certificate error", err)
	}
	insecure, _ := stargate.NewClient(b.WSSURL, &stargate.ClientOptions{InsecureSkipVerify: true})
	if p, err := insecure.NewProducer(ctx, topic, nil); err != nil {
		t.Fatalf("InsecureSkipVerify: %v", err)
	} else {
		p.Close()
	}

	// The token broker's wss port requires a client certificate.
	tb := dockertest.Require(t, dockertest.Token)
	if !tb.RequireClientCert || tb.WSSURL == "" {
		t.Fatal("the token broker does not require client certificates")
	}
	cfg, err := tb.TLSConfig(true)
	if err != nil {
		t.Fatal(err)
	}
	tpool, _ := stargate.CertPoolFromPEM(tb.CAPEM)
	mtls, _ := stargate.NewClient(tb.WSSURL, &stargate.ClientOptions{RootCAs: tpool, Certificates: cfg.Certificates, Token: tb.Token()})
	if p, err := mtls.NewProducer(ctx, topic, nil); err != nil {
		t.Fatalf("mTLS with a client certificate: %v", err)
	} else {
		p.Close()
	}
	nocert, _ := stargate.NewClient(tb.WSSURL, &stargate.ClientOptions{RootCAs: tpool, Token: tb.Token()})
	if p, err := nocert.NewProducer(ctx, topic, nil); err == nil {
		p.Close()
		t.Fatal("mTLS port accepted a client without a certificate")
	}
}
