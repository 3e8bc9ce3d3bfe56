package stargate

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client holds what every handle needs to reach Pulsar: the service URLs,
// TLS settings and credentials. It keeps no list of handles and owns no
// goroutine: each Producer, Consumer and Reader it creates owns its own
// connection and is closed on its own. A Client is safe for concurrent use
// and has no Close method.
type Client struct {
	urls []*url.URL
	opts ClientOptions
	tls  *tls.Config
}

// ClientOptions configures a Client. The zero value (or nil) connects
// without credentials, verifies TLS against the system roots, pings every
// 30s and reconnects with backoff from 100ms up to 30s.
type ClientOptions struct {
	// Token is a static JWT sent as "Authorization: Bearer <token>".
	Token string
	// TokenProvider, if set, is asked for a token at every dial (and so at
	// every reconnect), so that refreshed tokens are picked up. It takes
	// precedence over Token.
	TokenProvider func(ctx context.Context) (string, error)
	// TokenInQuery sends the token as the browser-style "token" query
	// parameter instead of the Authorization header. Only for servers or
	// intermediaries that strip the header: URLs end up in access logs.
	TokenInQuery bool

	// RootCAs are the certificate authorities trusted for wss:// URLs; nil
	// means the system roots. See CertPoolFromPEM.
	RootCAs *x509.CertPool
	// Certificates are client certificates presented for mutual TLS.
	Certificates []tls.Certificate
	// InsecureSkipVerify turns off verification of the server's
	// certificate chain and host name. For tests only.
	InsecureSkipVerify bool
	// TLSConfig is a base TLS configuration, cloned and never modified; the
	// three fields above override its fields of the same meaning.
	TLSConfig *tls.Config

	// Header holds extra HTTP headers for the WebSocket upgrade request.
	Header http.Header

	// Proxy picks the HTTP(S) forward proxy for each dial, reconnects
	// included, as http.Transport.Proxy does. It is shown a request for the
	// broker whose URL has the scheme http for ws:// and https for wss://,
	// so HTTP_PROXY and HTTPS_PROXY apply as they do to net/http. Nil means
	// http.ProxyFromEnvironment, which reads HTTPS_PROXY, HTTP_PROXY and
	// NO_PROXY (and their lower-case forms) once per process and never
	// proxies localhost or loopback addresses; NoProxy turns proxies off;
	// http.ProxyURL(u) names one. The client tunnels through the proxy with
	// HTTP CONNECT, for ws:// too, sending the proxy URL's user and password
	// as Proxy-Authorization: Basic; wss:// keeps TLS end to end with the
	// broker inside the tunnel; an https:// proxy URL adds TLS to the proxy
	// itself, verified with the settings below. A proxy that refuses gives
	// a *ProxyError.
	Proxy func(*http.Request) (*url.URL, error)
	// NetDialContext opens every TCP connection: to the broker, or to the
	// proxy when Proxy picks one. Nil means a net.Dialer. Use it for custom
	// transports (a SOCKS dialer, a fixed source address, an in-memory
	// network in tests).
	NetDialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// DialTimeout bounds each reconnection attempt. The first dial is
	// bounded by the constructor's context only. Zero means 30s.
	DialTimeout time.Duration
	// KeepAlive is the interval between pings; a connection silent for
	// about two and a half intervals is treated as lost. Zero means 30s;
	// negative disables pings (the server closes idle sessions after 5
	// minutes by default). A positive value must be at least 100ms: a
	// shorter one would drop healthy connections whose pong is a little
	// late.
	KeepAlive time.Duration
	// ReconnectDelay is the first delay before redialling a lost connection;
	// it doubles, with jitter, up to MaxReconnectDelay. Zero means 100ms.
	ReconnectDelay time.Duration
	// MaxReconnectDelay caps the reconnect backoff. Zero means 30s.
	MaxReconnectDelay time.Duration

	// MaxMessageSize is the largest frame the client reads from the
	// server: a message, base64 and JSON included (about 4/3 of the
	// payload). Zero means 16 MiB, more than a broker with the default
	// maxMessageSize (5 MB) ever sends. A larger message ends the consumer
	// or reader with ErrMessageTooLarge instead of a reconnect loop (the
	// broker would redeliver it each time); raise it for brokers configured
	// with larger messages, or for chunked messages from other clients.
	MaxMessageSize int

	// Logger receives connection events (dial failures, reconnects). Nil
	// means silent. Tokens are never logged.
	Logger *slog.Logger
}

// NewClient returns a Client for serviceURL: one or more ws:// or wss://
// base URLs of the brokers or WebSocket proxies of one cluster, separated by
// commas ("ws://a:8080,ws://b:8080"); a host without a scheme takes the
// scheme of the first URL. A handle that loses its connection moves on to
// the next URL. NewClient does no I/O.
func NewClient(serviceURL string, opts *ClientOptions) (*Client, error) {
	c := &Client{}
	if opts != nil {
		c.opts = *opts
		c.opts.Header = opts.Header.Clone()
	}
	scheme := ""
	for raw := range strings.SplitSeq(serviceURL, ",") {
		raw = strings.TrimSpace(raw)
		if scheme != "" && !strings.Contains(raw, "://") {
			raw = scheme + "://" + raw
		}
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return nil, argErr("service URL", raw, "want ws://host:port or wss://host:port")
		}
		if u.Scheme != "ws" && u.Scheme != "wss" {
			return nil, argErr("service URL", raw, `scheme must be "ws" or "wss"`)
		}
		if u.RawQuery != "" || u.User != nil {
			return nil, argErr("service URL", u.Redacted(), "must not carry a query or user info; use ClientOptions")
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		scheme = u.Scheme
		c.urls = append(c.urls, u)
	}
	if err := c.opts.check(); err != nil {
		return nil, err
	}
	c.tls = c.opts.tlsConfig()
	return c, nil
}

// minKeepAlive is the shortest ping interval accepted.
const minKeepAlive = 100 * time.Millisecond

func (o *ClientOptions) check() error {
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"DialTimeout", o.DialTimeout}, {"ReconnectDelay", o.ReconnectDelay}, {"MaxReconnectDelay", o.MaxReconnectDelay}} {
		if f.d < 0 {
			return argErr("ClientOptions."+f.name, f.d.String(), "must not be negative")
		}
	}
	if o.KeepAlive > 0 && o.KeepAlive < minKeepAlive {
		return argErr("ClientOptions.KeepAlive", o.KeepAlive.String(), "must be at least 100ms (or negative to disable pings)")
	}
	if o.MaxMessageSize < 0 {
		return argErr("ClientOptions.MaxMessageSize", strconv.Itoa(o.MaxMessageSize), "must not be negative")
	}
	if o.Token != "" && strings.ContainsAny(o.Token, " \r\n") {
		return argErr("ClientOptions.Token", "", "holds white space; pass the bare JWT without \"Bearer \"")
	}
	return nil
}

func (o *ClientOptions) tlsConfig() *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.TLSConfig != nil {
		cfg = o.TLSConfig.Clone()
	}
	if o.RootCAs != nil {
		cfg.RootCAs = o.RootCAs
	}
	if len(o.Certificates) > 0 {
		cfg.Certificates = o.Certificates
	}
	if o.InsecureSkipVerify {
		cfg.InsecureSkipVerify = true
	}
	return cfg
}

// CertPoolFromPEM returns a pool holding the PEM-encoded certificates, for
// ClientOptions.RootCAs. It fails if pem holds no certificate.
func CertPoolFromPEM(pem []byte) (*x509.CertPool, error) {
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		return nil, argErr("CA certificate", "", "no PEM certificate found")
	}
	return p, nil
}

func (o *ClientOptions) dialTimeout() time.Duration {
	if o.DialTimeout == 0 {
		return 30 * time.Second
	}
	return o.DialTimeout
}

func (o *ClientOptions) backoff() (first, most time.Duration) {
	first, most = o.ReconnectDelay, o.MaxReconnectDelay
	if first == 0 {
		first = 100 * time.Millisecond
	}
	if most == 0 {
		most = 30 * time.Second
	}
	return first, max(first, most)
}

func (c *Client) logger() *slog.Logger {
	if c.opts.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.opts.Logger
}

// token returns the token for one dial, or "" for none.
func (c *Client) token(ctx context.Context) (string, error) {
	if c.opts.TokenProvider != nil {
		tok, err := c.opts.TokenProvider(ctx)
		if err != nil {
			return "", &TokenError{Err: err}
		}
		return strings.TrimPrefix(tok, "Bearer "), nil
	}
	return c.opts.Token, nil
}

// TokenError reports that ClientOptions.TokenProvider failed; it wraps the
// provider's error.
type TokenError struct{ Err error }

// Error describes the provider failure.
func (e *TokenError) Error() string { return "stargate: token provider: " + e.Err.Error() }

// Unwrap returns the provider's error.
func (e *TokenError) Unwrap() error { return e.Err }
