package wsconn

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Defaults applied by Dial to zero-valued Options fields.
const (
	DefaultKeepAlive    = 30 * time.Second
	DefaultWriteTimeout = 10 * time.Second
	DefaultReadLimit    = 16 << 20
	DefaultWriteLimit   = 16 << 20
)

// Internal bounds; see the design notes in conn.go.
const (
	bufferLimit  = 256 << 10       // Write blocks while this much is queued for the socket
	drainTimeout = 1 * time.Second // how long a graceful close waits for queued frames to reach the socket
	closeTimeout = 2 * time.Second // how long Close waits for the read goroutine before aborting
	idleFactor   = 5               // the peer is dead after idleFactor/2 keepalive intervals of silence
	pingPayload  = "stargate"      // keepalive ping payload (control frames carry ≤ 125 bytes)
)

// Options configures Dial. Zero values mean the defaults given.
type Options struct {
	URL          string        // full ws:// or wss:// URL, path and query included
	Header       http.Header   // extra request headers (Authorization: Bearer … goes here)
	TLSConfig    *tls.Config   // for wss; cloned, never mutated; nil = system roots; ServerName defaults to the URL host
	KeepAlive    time.Duration // ping interval; 0 = 30s; < 0 disables pings and the silence check
	WriteTimeout time.Duration // deadline for each socket write done by the flusher; 0 = 10s; < 0 = no deadline
	ReadLimit    int           // max inbound message size; 0 = 16 MiB
	WriteLimit   int           // max outbound message size; 0 = 16 MiB; a Write over it fails and the conn stays alive
	// Dialer opens the TCP connection; nil = net.Dialer.DialContext.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
	// Proxy picks the HTTP(S) forward proxy for a dial, as http.Transport.Proxy does; it
	// is shown a request whose URL has the scheme http for ws and https for wss. nil, or
	// a nil URL, means a direct connection. The tunnel is made with HTTP CONNECT (for ws
	// too); the proxy URL's user info becomes a Proxy-Authorization: Basic header; for
	// an https:// proxy the TLS to the proxy uses TLSConfig with the proxy's host name.
	// Dialer opens the TCP connection to the proxy.
	Proxy  func(*http.Request) (*url.URL, error)
	Logger *slog.Logger // nil = silent
}

// withDefaults returns a copy of o with defaults filled in.
func (o Options) withDefaults() Options {
	if o.KeepAlive == 0 {
		o.KeepAlive = DefaultKeepAlive
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.ReadLimit <= 0 {
		o.ReadLimit = DefaultReadLimit
	}
	if o.WriteLimit <= 0 {
		o.WriteLimit = DefaultWriteLimit
	}
	if o.Dialer == nil {
		var d net.Dialer
		o.Dialer = d.DialContext
	}
	o.Header = o.Header.Clone()
	if o.Header == nil {
		o.Header = http.Header{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// gwsLogger adapts an slog.Logger to gws.Logger (used for recovered panics).
type gwsLogger struct{ l *slog.Logger }

func (g gwsLogger) Error(v ...any) {
	g.l.Error("wsconn: gws", "msg", fmt.Sprint(v...))
}
