// Package proxytest is a small HTTP CONNECT forward proxy for tests of the
// client's proxy support, started on 127.0.0.1 by the test that uses it. It
// can require Basic credentials, serve as an https:// proxy, map CONNECT
// targets to other addresses, and cut every tunnel at once.
package proxytest

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configures a Proxy. The zero value is an open plain-HTTP proxy.
type Options struct {
	User, Password string            // if User is set, CONNECT needs these Basic credentials (else 407)
	TLS            *tls.Config       // if set, the proxy speaks TLS itself (an https:// proxy)
	Resolve        map[string]string // CONNECT target host:port → the address actually dialled
}

// Proxy is a running CONNECT proxy. Its methods are safe for concurrent use.
type Proxy struct {
	ln   net.Listener
	opts Options
	wg   sync.WaitGroup

	mu       sync.Mutex
	conns    map[net.Conn]struct{} // every open client and target conn
	connects []string              // CONNECT targets tunnelled
	refused  int                   // CONNECTs answered with an error status
	closed   bool
}

// New starts a proxy on 127.0.0.1; tb's cleanup closes it and joins its
// goroutines.
func New(tb testing.TB, o Options) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	if o.TLS != nil {
		ln = tls.NewListener(ln, o.TLS)
	}
	p := &Proxy{ln: ln, opts: o, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.accept)
	tb.Cleanup(p.Close)
	return p
}

// URL returns the proxy's URL (http:// or https://) without credentials.
func (p *Proxy) URL() *url.URL {
	u := &url.URL{Scheme: "http", Host: p.ln.Addr().String()}
	if p.opts.TLS != nil {
		u.Scheme = "https"
	}
	return u
}

// URLWithAuth returns the proxy's URL with user and password as user info.
func (p *Proxy) URLWithAuth(user, password string) *url.URL {
	u := p.URL()
	u.User = url.UserPassword(user, password)
	return u
}

// Connects returns the targets of the tunnels opened so far, in order.
func (p *Proxy) Connects() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.connects...)
}

// Refused returns how many CONNECT requests were refused.
func (p *Proxy) Refused() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refused
}

// KillConns closes every open connection, client side and target side, as
// a proxy that dies would; the proxy goes on accepting. It returns how many
// connections it closed.
func (p *Proxy) KillConns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.conns)
	for c := range p.conns {
		_ = c.Close()
	}
	return n
}

// Close stops the proxy, closes every connection and joins its goroutines.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	_ = p.ln.Close()
	p.KillConns()
	p.wg.Wait()
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	_ = c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			continue
		}
		p.wg.Go(func() { p.serve(c) })
	}
}

// serve handles one client connection: one CONNECT, then the tunnel.
func (p *Proxy) serve(c net.Conn) {
	defer p.untrack(c)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	if status, msg := p.check(req); status != 0 {
		p.refuse(c, status, msg)
		return
	}
	target := req.Host
	if a, ok := p.opts.Resolve[target]; ok {
		target = a
	}
	t, err := net.DialTimeout("tcp", target, 10*time.Second)
	if err != nil {
		p.refuse(c, http.StatusBadGateway, err.Error())
		return
	}
	if !p.track(t) {
		return
	}
	defer p.untrack(t)
	p.mu.Lock()
	p.connects = append(p.connects, req.Host)
	p.mu.Unlock()
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	var pipes sync.WaitGroup
	pipes.Go(func() {
		_, _ = io.Copy(t, br) // br holds what the client sent after the request
		_ = t.Close()
	})
	_, _ = io.Copy(c, t)
	_ = c.Close()
	pipes.Wait()
}

// check returns the status to refuse req with, or 0.
func (p *Proxy) check(req *http.Request) (int, string) {
	if req.Method != http.MethodConnect {
		return http.StatusMethodNotAllowed, "only CONNECT"
	}
	if p.opts.User == "" {
		return 0, ""
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(p.opts.User+":"+p.opts.Password))
	if req.Header.Get("Proxy-Authorization") != want {
		return http.StatusProxyAuthRequired, "proxy credentials required"
	}
	return 0, ""
}

func (p *Proxy) refuse(c net.Conn, status int, msg string) {
	p.mu.Lock()
	p.refused++
	p.mu.Unlock()
	resp := &http.Response{
		StatusCode:    status,
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"text/plain"}},
		ContentLength: int64(len(msg)),
		Body:          io.NopCloser(strings.NewReader(msg)),
	}
	if status == http.StatusProxyAuthRequired {
		resp.Header.Set("Proxy-Authenticate", `Basic realm="proxytest"`)
	}
	_ = resp.Write(c)
}
