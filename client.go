package stargate

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
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

	restHTTP *http.Client // admin REST calls (rest.go): Seek, StartTime
}

// NewClient returns a Client for serviceURL: one or more ws:// or wss://
// base URLs of the brokers or WebSocket proxies of one cluster, separated by
// commas ("ws://a:8080,ws://b:8080"); a host without a scheme takes the
// scheme of the first URL. A handle that loses its connection moves on to
// the next URL. NewClient does no I/O.
func NewClient(serviceURL string, opts *ClientOptions) (*Client, error) {
	c := &Client{}
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
	if opts != nil {
		if err := opts.check(); err != nil {
			return nil, err
		}
	}
	c.opts = opts.withDefaults()
	c.tls = c.opts.tlsConfig()
	c.restHTTP = c.newRESTClient()
	return c, nil
}

// check validates o by its table (params.go) and the token's form.
func (o *ClientOptions) check() error {
	if _, err := encode("ClientOptions", o, clientParams); err != nil {
		return err
	}
	if strings.ContainsAny(o.Token, " \r\n") {
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
			return "", fmt.Errorf("stargate: token provider: %w", err)
		}
		return strings.TrimPrefix(tok, "Bearer "), nil
	}
	return c.opts.Token, nil
}
