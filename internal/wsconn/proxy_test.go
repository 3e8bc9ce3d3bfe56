package wsconn

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stargate-go/stargate/internal/proxytest"
)

func TestDialThroughProxy(t *testing.T) {
	plainSrv := newServer(t, echo{}, serverOpts{})
	tlsSrv := newServer(t, echo{}, serverOpts{tls: true})
	for _, tc := range []struct {
		name       string
		srv        *server
		httpsProxy bool
		auth       bool
	}{
		{"ws via http proxy", plainSrv, false, false},
		{"wss via http proxy", tlsSrv, false, false},
		{"ws via http proxy with auth", plainSrv, false, true},
		{"wss via https proxy with auth", tlsSrv, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			po := proxytest.Options{}
			if tc.httpsProxy {
				po.TLS = tlsSrv.TLS.Clone() // httptest's certificate, trusted by caConfig
			}
			if tc.auth {
				po.User, po.Password = "alice", "s3cret:x"
			}
			p := proxytest.New(t, po)
			pu := p.URL
			if tc.auth {
				pu = func() *url.URL { return p.URLWithAuth("alice", "s3cret:x") }
			}
			var seen *http.Request
			r := newRecorder()
			c := dial(t, Options{
				URL:       tc.srv.wsURL("/ws/v2/producer/persistent/public/default/t"),
				TLSConfig: tlsSrv.caConfig(), // trusts the https proxy too
				Proxy: func(req *http.Request) (*url.URL, error) {
					seen = req
					return pu(), nil
				},
			}, r)
			if err := c.Write([]byte("tunnelled")); err != nil {
				t.Fatal(err)
			}
			if got := r.next(t); got != "tunnelled" {
				t.Fatalf("echo = %q", got)
			}
			_ = c.Close()
			host := strings.TrimPrefix(strings.TrimPrefix(tc.srv.URL, "http://"), "https://")
			if got := p.Connects(); len(got) != 1 || got[0] != host {
				t.Errorf("proxy tunnelled %v, want [%s]", got, host)
			}
			wantScheme := "http"
			if tc.srv.TLS != nil {
				wantScheme = "https"
			}
			if seen.URL.Scheme != wantScheme || seen.URL.Host != host {
				t.Errorf("Proxy saw %s, want scheme %s host %s", seen.URL, wantScheme, host)
			}
		})
	}
}

func TestProxyRefusesCredentials(t *testing.T) {
	s := newServer(t, echo{}, serverOpts{})
	p := proxytest.New(t, proxytest.Options{User: "alice", Password: "right"})
	for name, u := range map[string]*url.URL{
		"none":  p.URL(),
		"wrong": p.URLWithAuth("alice", "wrongpass"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Dial(context.Background(), Options{URL: s.wsURL("/ws"), Proxy: http.ProxyURL(u)}, newRecorder())
			var pe *ProxyError
			if !errors.As(err, &pe) || pe.StatusCode != http.StatusProxyAuthRequired {
				t.Fatalf("err = %v, want a 407 ProxyError", err)
			}
			if pe.Proxy != u.Redacted() || !strings.Contains(err.Error(), p.URL().Host) {
				t.Errorf("error names %q (%v), want %q", pe.Proxy, err, u.Redacted())
			}
			if strings.Contains(err.Error(), "wrongpass") || pe.Message != "proxy credentials required" {
				t.Errorf("error = %q, message %q", err, pe.Message)
			}
		})
	}
	if p.Refused() != 2 || len(p.Connects()) != 0 {
		t.Errorf("refused %d, tunnelled %v", p.Refused(), p.Connects())
	}
}

func TestProxyUnreachable(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	_ = ln.Close()
	pu := &url.URL{Scheme: "http", Host: addr, User: url.UserPassword("u", "pw")}
	_, err := Dial(context.Background(), Options{URL: "ws://192.0.2.1:8080/ws", Proxy: http.ProxyURL(pu)}, newRecorder())
	var pe *ProxyError
	if !errors.As(err, &pe) || pe.StatusCode != 0 || pe.Err == nil {
		t.Fatalf("err = %v, want a ProxyError with a transport cause", err)
	}
	if !strings.Contains(err.Error(), addr) || strings.Contains(err.Error(), "pw") {
		t.Errorf("err = %v: should name %s and hide the password", err, addr)
	}

	_, err = Dial(context.Background(), Options{URL: "ws://192.0.2.1:8080/ws", Proxy: http.ProxyURL(&url.URL{Scheme: "socks5", Host: addr})}, newRecorder())
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "socks5") {
		t.Errorf("socks5 proxy: err = %v", err)
	}
	_, err = Dial(context.Background(), Options{URL: "ws://192.0.2.1:8080/ws", Proxy: func(*http.Request) (*url.URL, error) {
		return nil, errors.New("no proxy today")
	}}, newRecorder())
	if err == nil || !strings.Contains(err.Error(), "no proxy today") {
		t.Errorf("failing Proxy func: err = %v", err)
	}
}

func TestProxyCtxEndsHangingConnect(t *testing.T) {
	addr := silentListener(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Dial(ctx, Options{URL: "ws://192.0.2.1:8080/ws", Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: addr})}, newRecorder())
	var pe *ProxyError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &pe) {
		t.Errorf("err = %v; want DeadlineExceeded and a ProxyError", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Dial returned after %v", d)
	}
}

func TestProxyNilURLDialsDirect(t *testing.T) {
	s := newServer(t, echo{}, serverOpts{})
	calls := 0
	c := dial(t, Options{URL: s.wsURL("/ws"), Proxy: func(*http.Request) (*url.URL, error) {
		calls++
		return nil, nil
	}}, newRecorder())
	_ = c.Close()
	if calls != 1 {
		t.Errorf("Proxy called %d times", calls)
	}
}
