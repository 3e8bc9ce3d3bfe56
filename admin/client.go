package admin

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Client calls Pulsar's admin REST API (/admin/v2) of one cluster. It is
// safe for concurrent use and starts no goroutine of its own; the HTTP
// connections it keeps alive are released by CloseIdleConnections.
type Client struct {
	urls      []*url.URL
	preferred atomic.Int32 // index into urls of the last one that answered
	opts      Options
	http      *http.Client
}

// Options configures a Client. The zero value (or nil) sends no
// credentials, verifies TLS against the system roots, follows up to 5
// redirects and bounds each call to 60s unless its context is shorter.
// Token, TokenProvider, RootCAs, Certificates, InsecureSkipVerify,
// TLSConfig, Header, Proxy and NetDialContext mean what they mean in
// stargate.ClientOptions.
type Options struct {
	// Token is a static JWT sent as "Authorization: Bearer <token>".
	Token string
	// TokenProvider, if set, is asked for a token at the start of every
	// call (redirects and failover of that call reuse it), so that
	// refreshed tokens are picked up. It takes precedence over Token. Its
	// error fails the call with that error, wrapped (errors.Is matches it).
	TokenProvider func(ctx context.Context) (string, error)

	// RootCAs are the certificate authorities trusted for https:// URLs;
	// nil means the system roots (see stargate.CertPoolFromPEM).
	RootCAs *x509.CertPool
	// Certificates are client certificates presented for mutual TLS.
	Certificates []tls.Certificate
	// InsecureSkipVerify turns off verification of the server's
	// certificate chain and host name. For tests only.
	InsecureSkipVerify bool
	// TLSConfig is a base TLS configuration, cloned and never modified; the
	// three fields above override its fields of the same meaning.
	TLSConfig *tls.Config

	// Header holds extra HTTP headers sent with every request.
	Header http.Header

	// Proxy and NetDialContext mean what they mean in
	// stargate.ClientOptions: the HTTP(S) forward proxy of each request
	// (nil: http.ProxyFromEnvironment; stargate.NoProxy turns proxies off)
	// and the function that opens TCP connections (nil: a net.Dialer).
	Proxy          func(*http.Request) (*url.URL, error)
	NetDialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// Transport, if set, carries the requests instead of a transport built
	// from the TLS, Proxy and NetDialContext fields above (which are then
	// ignored). Redirects are
	// still followed by the Client, not by the transport.
	Transport http.RoundTripper

	// Timeout bounds each call, redirects and failover included, when its
	// context has no earlier deadline. Zero means 60s; negative means no
	// bound but the context's.
	Timeout time.Duration
	// MaxRedirects is how many redirects one call follows (brokers answer
	// 307 to send a request to the broker that owns the topic). Zero means
	// 5; negative means none is followed and a redirect is an error.
	MaxRedirects int
}

// New returns a Client for serviceURLs: one or more base URLs of the
// brokers (or proxies) of one cluster, separated by commas
// ("http://a:8080,http://b:8080"). http:// and https:// URLs are used as
// they are; ws:// and wss:// URLs, as given to stargate.NewClient, are
// mapped to http:// and https://, since the WebSocket service and the
// admin API share a port. A host without a scheme takes the scheme of the
// first URL. A request that cannot reach one URL moves on to the next.
// New does no I/O.
func New(serviceURLs string, opts *Options) (*Client, error) {
	c := &Client{}
	if opts != nil {
		c.opts = *opts
		c.opts.Header = opts.Header.Clone()
	}
	urls, err := parseServiceURLs(serviceURLs)
	if err != nil {
		return nil, err
	}
	c.urls = urls
	if err := c.opts.check(); err != nil {
		return nil, err
	}
	rt := c.opts.Transport
	if rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = c.opts.tlsConfig()
		if c.opts.Proxy != nil {
			t.Proxy = c.opts.Proxy
		}
		if c.opts.NetDialContext != nil {
			t.DialContext = c.opts.NetDialContext
		}
		rt = t
	}
	c.http = &http.Client{
		Transport: rt,
		// Redirects are followed by do, which keeps the credentials.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
}

func parseServiceURLs(s string) ([]*url.URL, error) {
	var urls []*url.URL
	scheme := ""
	for raw := range strings.SplitSeq(s, ",") {
		raw = strings.TrimSpace(raw)
		if scheme != "" && !strings.Contains(raw, "://") {
			raw = scheme + "://" + raw
		}
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return nil, argErr("service URL", raw, "want http://host:port or https://host:port")
		}
		switch u.Scheme {
		case "ws":
			u.Scheme = "http"
		case "wss":
			u.Scheme = "https"
		case "http", "https":
		default:
			return nil, argErr("service URL", raw, `scheme must be "http", "https", "ws" or "wss"`)
		}
		if u.RawQuery != "" || u.User != nil || u.Fragment != "" {
			return nil, argErr("service URL", u.Redacted(), "must not carry a query, fragment or user info; use Options")
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		u.RawPath = ""
		scheme = u.Scheme
		urls = append(urls, u)
	}
	return urls, nil
}

func (o *Options) check() error {
	if o.Token != "" && strings.ContainsAny(o.Token, " \r\n") {
		return argErr("Options.Token", "", "holds white space; pass the bare JWT without \"Bearer \"")
	}
	return nil
}

func (o *Options) tlsConfig() *tls.Config {
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

func (o *Options) timeout() time.Duration {
	if o.Timeout == 0 {
		return 60 * time.Second
	}
	return o.Timeout
}

func (o *Options) maxRedirects() int {
	switch {
	case o.MaxRedirects == 0:
		return 5
	case o.MaxRedirects < 0:
		return 0
	}
	return o.MaxRedirects
}

// CloseIdleConnections closes the HTTP connections the Client keeps alive
// between calls. The Client stays usable; later calls open new ones.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// token returns the token for one request, or "" for none.
func (c *Client) token(ctx context.Context) (string, error) {
	if c.opts.TokenProvider != nil {
		tok, err := c.opts.TokenProvider(ctx)
		if err != nil {
			return "", fmt.Errorf("admin: token provider: %w", err)
		}
		return strings.TrimPrefix(tok, "Bearer "), nil
	}
	return c.opts.Token, nil
}
