package wsconn

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// ProxyError reports that the HTTP(S) forward proxy could not be used: it
// could not be reached (StatusCode 0, Err set) or it refused the CONNECT
// request with StatusCode.
type ProxyError struct {
	Proxy      string // the proxy URL, its password redacted
	StatusCode int    // the proxy's answer to CONNECT; 0 if there was none
	Message    string // the proxy's short reason; may be empty
	Err        error  // the transport error when StatusCode is 0
}

func (e *ProxyError) Error() string {
	if e.StatusCode == 0 {
		return fmt.Sprintf("wsconn: proxy %s: %v", e.Proxy, e.Err)
	}
	s := fmt.Sprintf("wsconn: proxy %s refused CONNECT: %d %s", e.Proxy, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

func (e *ProxyError) Unwrap() error { return e.Err }

// proxyFor asks o.Proxy which proxy serves u. The request it is shown has
// the http or https scheme that net/http's ProxyFromEnvironment expects
// (ws maps to http, wss to https), so HTTP_PROXY and HTTPS_PROXY apply.
func proxyFor(o Options, u *url.URL) (*url.URL, error) {
	if o.Proxy == nil {
		return nil, nil
	}
	target := &url.URL{Scheme: "http", Host: u.Host, Path: u.Path}
	if u.Scheme == "wss" {
		target.Scheme = "https"
	}
	req := &http.Request{Method: http.MethodGet, URL: target, Host: u.Host, Header: http.Header{}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	p, err := o.Proxy(req)
	if err != nil {
		return nil, fmt.Errorf("wsconn: choosing a proxy: %w", err)
	}
	if p == nil {
		return nil, nil
	}
	if p.Scheme != "http" && p.Scheme != "https" {
		return nil, &ProxyError{Proxy: p.Redacted(), Err: fmt.Errorf("unsupported proxy scheme %q: want http or https", p.Scheme)}
	}
	return p, nil
}

// dialVia opens a tunnel to addr through the proxy p with HTTP CONNECT. It
// returns the TCP conn to the proxy (the kill switch) and the tunnel to read
// and write (the TCP conn, or a TLS conn to an https:// proxy, possibly with
// bytes the proxy sent early).
func dialVia(ctx context.Context, o Options, p *url.URL, addr string) (raw, tunnel net.Conn, err error) {
	name := p.Redacted()
	paddr := proxyHostPort(p)
	raw, err = o.Dialer(ctx, "tcp", paddr)
	if err != nil {
		return nil, nil, ctxErr(ctx, &ProxyError{Proxy: name, Err: err})
	}
	tunnel = raw
	if p.Scheme == "https" {
		cfg := tlsConfig(o.TLSConfig, p)
		cfg.ServerName = p.Hostname()
		tc := tls.Client(raw, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = raw.Close()
			return nil, nil, ctxErr(ctx, &ProxyError{Proxy: name, Err: fmt.Errorf("TLS handshake: %w", err)})
		}
		tunnel = tc
	}
	aborted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { // ends a hanging CONNECT
		_ = raw.Close()
		close(aborted)
	})
	tunnel, err = connect(tunnel, p, addr)
	if !stop() {
		<-aborted // join the AfterFunc goroutine
		if err == nil {
			err = net.ErrClosed // ctx ended just as the proxy answered: the socket is gone
		}
	}
	if err != nil {
		_ = raw.Close()
		var pe *ProxyError
		if !errors.As(err, &pe) {
			err = &ProxyError{Proxy: name, Err: err}
		}
		return nil, nil, ctxErr(ctx, err)
	}
	return raw, tunnel, nil
}

// connect sends CONNECT addr over c and reads the proxy's answer.
func connect(c net.Conn, p *url.URL, addr string) (net.Conn, error) {
	req := "CONNECT " + addr + " HTTP/1.1\r\nHost: " + addr + "\r\n"
	if u := p.User; u != nil {
		pass, _ := u.Password()
		cred := base64.StdEncoding.EncodeToString([]byte(u.Username() + ":" + pass))
		req += "Proxy-Authorization: Basic " + cred + "\r\n"
	}
	req += "\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		return nil, fmt.Errorf("sending CONNECT: %w", err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return nil, fmt.Errorf("reading the answer to CONNECT: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, &ProxyError{Proxy: p.Redacted(), StatusCode: resp.StatusCode, Message: refusal(c, br, resp)}
	}
	if br.Buffered() > 0 {
		return &bufferedConn{Conn: c, r: br}, nil
	}
	return c, nil
}

// bufferedConn returns the bytes read past the proxy's answer first.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

func proxyHostPort(p *url.URL) string {
	port := p.Port()
	if port == "" {
		port = "80"
		if p.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(p.Hostname(), port)
}

// dialTransport opens the byte stream to addr, the broker's host:port: a
// TCP conn, or a tunnel through the proxy o.Proxy picks for u.
func dialTransport(ctx context.Context, o Options, u *url.URL, addr string) (raw, transport net.Conn, err error) {
	p, err := proxyFor(o, u)
	if err != nil {
		return nil, nil, err
	}
	if p != nil {
		return dialVia(ctx, o, p, addr)
	}
	raw, err = o.Dialer(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, ctxErr(ctx, fmt.Errorf("wsconn: dial %s: %w", addr, err))
	}
	return raw, raw, nil
}

// refusal reads the short reason of a refused CONNECT: a body with a known
// length is read for up to a second (the conn is discarded after), one
// without only as far as it is buffered, so that a proxy that keeps the conn
// open after a refusal cannot hang the dial.
func refusal(c net.Conn, br *bufio.Reader, resp *http.Response) string {
	var body []byte
	switch n := resp.ContentLength; {
	case n > 0 && n <= maxBodyRead:
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		body = make([]byte, n)
		k, _ := io.ReadFull(br, body)
		body = body[:k]
	case n < 0 && br.Buffered() > 0:
		body, _ = br.Peek(min(br.Buffered(), maxBodyRead))
	}
	return extractMessage(resp.Header.Get("Content-Type"), body)
}
