package stargate_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/internal/proxytest"
	"github.com/stargate-go/stargate/stargatetest"
)

// Every dial, reconnects included, goes through the proxy ClientOptions.Proxy
// picks, over the transport NetDialContext gives.
func TestProxyReconnectsThroughProxy(t *testing.T) {
	srv := stargatetest.New(t, nil)
	prx := proxytest.New(t, proxytest.Options{User: "u", Password: "p"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var dials atomic.Int32
	var d net.Dialer
	opts := fastReconnect
	opts.Proxy = http.ProxyURL(prx.URLWithAuth("u", "p"))
	opts.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr != prx.URL().Host {
			t.Errorf("dialled %s, want the proxy %s", addr, prx.URL().Host)
		}
		dials.Add(1)
		return d.DialContext(ctx, network, addr)
	}
	client, _ := stargate.NewClient(srv.URL(), &opts)
	p, err := client.NewProducer(ctx, "via-proxy", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Send(ctx, stargate.Message{Payload: []byte("1")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if n := prx.KillConns(); n == 0 {
		t.Fatal("no connection to kill")
	}
	if _, err := p.Send(ctx, stargate.Message{Payload: []byte("2")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(srv.URL(), "ws://")
	if got := prx.Connects(); len(got) < 2 || got[0] != host || got[len(got)-1] != host {
		t.Errorf("tunnels %v, want at least two to %s", got, host)
	}
	if dials.Load() < 2 {
		t.Errorf("NetDialContext called %d times", dials.Load())
	}
	if msgs, _ := srv.Messages("via-proxy"); len(msgs) < 2 {
		t.Errorf("broker stored %d messages", len(msgs))
	}
}

// Wrong proxy credentials: a *ProxyError naming the proxy, without the
// password, at the first dial; and on a reconnect it ends the handle after
// one attempt instead of retrying forever.
func TestProxyAuthRefusedIsTerminal(t *testing.T) {
	srv := stargatetest.New(t, nil)
	prx := proxytest.New(t, proxytest.Options{User: "u", Password: "right"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	wrong := prx.URLWithAuth("u", "hunter2")

	opts := fastReconnect
	opts.Proxy = http.ProxyURL(wrong)
	client, _ := stargate.NewClient(srv.URL(), &opts)
	_, err := client.NewProducer(ctx, "t", nil)
	var pe *stargate.ProxyError
	if !errors.As(err, &pe) || pe.StatusCode != http.StatusProxyAuthRequired || stargate.IsRetryable(pe) {
		t.Fatalf("err = %v, want a 407 *ProxyError", err)
	}
	if pe.Proxy != wrong.Redacted() || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), prx.URL().Host) {
		t.Errorf("err = %v: want the proxy named, without its password", err)
	}

	var calls atomic.Int32
	opts.Proxy = func(*http.Request) (*url.URL, error) {
		if calls.Add(1) == 1 {
			return prx.URLWithAuth("u", "right"), nil
		}
		return wrong, nil // the credentials were rotated under the handle
	}
	client, _ = stargate.NewClient(srv.URL(), &opts)
	c, err := client.NewConsumer(ctx, "t", "s", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	prx.KillConns()
	var last error
	for _, err := range c.Messages(ctx) {
		last = err
	}
	if !errors.As(last, &pe) || pe.StatusCode != http.StatusProxyAuthRequired {
		t.Fatalf("range ended with %v, want a 407 *ProxyError", last)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("Proxy asked %d times, want 2 (first dial, one reconnect)", n)
	}
}

// NoProxy dials straight to the broker.
func TestNoProxy(t *testing.T) {
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var addrs []string
	var d net.Dialer
	client, _ := stargate.NewClient(srv.URL(), &stargate.ClientOptions{
		Proxy: stargate.NoProxy,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			addrs = append(addrs, addr)
			return d.DialContext(ctx, network, addr)
		},
	})
	r, err := client.NewReader(ctx, "t", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if want := strings.TrimPrefix(srv.URL(), "ws://"); len(addrs) != 1 || addrs[0] != want {
		t.Errorf("dialled %v, want [%s]", addrs, want)
	}
}

// A proxy that accepts and never answers: the constructor's ctx ends the
// dial, and the error matches both ctx.Err() and *ProxyError.
func TestProxyHangingConnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	defer func() {
		_ = ln.Close()
		<-done
		for _, c := range held {
			_ = c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	client, _ := stargate.NewClient("ws://pulsar.invalid:8080", &stargate.ClientOptions{
		Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: ln.Addr().String()}),
	})
	_, err = client.NewProducer(ctx, "t", nil)
	var pe *stargate.ProxyError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &pe) || pe.Proxy != "http://"+ln.Addr().String() {
		t.Fatalf("err = %v, want DeadlineExceeded and a *ProxyError", err)
	}
}

func TestProxyErrorText(t *testing.T) {
	for _, tc := range []struct {
		err  *stargate.ProxyError
		want string
		temp bool
	}{
		{&stargate.ProxyError{Proxy: "http://p:3128", StatusCode: 407}, "stargate: proxy http://p:3128 refused CONNECT: 407 Proxy Authentication Required", false},
		{&stargate.ProxyError{Proxy: "http://p:3128", StatusCode: 403, Message: "denied"}, "stargate: proxy http://p:3128 refused CONNECT: 403 Forbidden: denied", false},
		{&stargate.ProxyError{Proxy: "http://p:3128", StatusCode: 502}, "stargate: proxy http://p:3128 refused CONNECT: 502 Bad Gateway", true},
		{&stargate.ProxyError{Proxy: "http://p:3128", StatusCode: 429}, "stargate: proxy http://p:3128 refused CONNECT: 429 Too Many Requests", true},
		{&stargate.ProxyError{Proxy: "http://p:3128", Err: errors.New("connection refused")}, "stargate: proxy http://p:3128: connection refused", true},
	} {
		if got := tc.err.Error(); got != tc.want || stargate.IsRetryable(tc.err) != tc.temp {
			t.Errorf("%q (temporary %v), want %q (%v)", got, stargate.IsRetryable(tc.err), tc.want, tc.temp)
		}
	}
}
