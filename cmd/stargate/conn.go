package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/admin"
)

// connFlags are the connection settings every command accepts; a flag
// wins over its environment variable.
type connFlags struct {
	url, adminURL     string
	token, tokenFile  string
	caFile            string
	certFile, keyFile string
	insecure          bool
	connectTimeout    time.Duration
	output            string
	quiet             bool
}

const connUsage = `  --url URL            service URL, ws:// or wss://; several, comma-separated, for failover
                       ($STARGATE_URL; default ws://localhost:8080)
  --admin-url URL      admin REST URL ($STARGATE_ADMIN_URL; default: the service URL, http(s))
  --token TOKEN        JWT sent as "Authorization: Bearer" ($STARGATE_TOKEN; other users
                       may see a flag in ps: prefer the variable or --token-file)
  --token-file FILE    file holding the token, read at every connection ($STARGATE_TOKEN_FILE)
  --tls-ca FILE        PEM CA certificates to trust ($STARGATE_TLS_CA)
  --tls-cert FILE      PEM client certificate for mutual TLS ($STARGATE_TLS_CERT)
  --tls-key FILE       PEM key of --tls-cert ($STARGATE_TLS_KEY)
  --tls-insecure       do not verify the server's certificate ($STARGATE_TLS_INSECURE=true)
  --connect-timeout D  bound on connecting (default 30s)
  -o, --output FORMAT  output format; see each command (json for scripts)
  -q, --quiet          no progress or summary on stderr
`

func (c *connFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.url, "url", c.url, "")
	fs.StringVar(&c.adminURL, "admin-url", c.adminURL, "")
	fs.StringVar(&c.token, "token", c.token, "")
	fs.StringVar(&c.tokenFile, "token-file", c.tokenFile, "")
	fs.StringVar(&c.caFile, "tls-ca", c.caFile, "")
	fs.StringVar(&c.certFile, "tls-cert", c.certFile, "")
	fs.StringVar(&c.keyFile, "tls-key", c.keyFile, "")
	fs.BoolVar(&c.insecure, "tls-insecure", c.insecure, "")
	if c.connectTimeout == 0 {
		c.connectTimeout = 30 * time.Second
	}
	fs.DurationVar(&c.connectTimeout, "connect-timeout", c.connectTimeout, "")
	fs.StringVar(&c.output, "o", c.output, "")
	fs.StringVar(&c.output, "output", c.output, "")
	fs.BoolVar(&c.quiet, "q", c.quiet, "")
	fs.BoolVar(&c.quiet, "quiet", c.quiet, "")
}

// resolved are connFlags with the environment applied.
type resolved struct {
	urls     string
	adminURL string
	token    func(context.Context) (string, error) // nil: no token
	tls      *tls.Config                           // nil: defaults
}

func (a *app) resolve() (*resolved, error) {
	c := a.conn
	env := func(v *string, name string) {
		if *v == "" {
			*v = a.getenv(name)
		}
	}
	env(&c.url, "STARGATE_URL")
	env(&c.adminURL, "STARGATE_ADMIN_URL")
	env(&c.caFile, "STARGATE_TLS_CA")
	env(&c.certFile, "STARGATE_TLS_CERT")
	env(&c.keyFile, "STARGATE_TLS_KEY")
	if c.token != "" && c.tokenFile != "" {
		return nil, usageErr("--token and --token-file are exclusive")
	}
	if c.token == "" && c.tokenFile == "" {
		env(&c.token, "STARGATE_TOKEN")
		if c.token == "" {
			env(&c.tokenFile, "STARGATE_TOKEN_FILE")
		}
	}
	if !c.insecure {
		if v := a.getenv("STARGATE_TLS_INSECURE"); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, usageErr("STARGATE_TLS_INSECURE=%q: want true or false", v)
			}
			c.insecure = b
		}
	}
	if c.url == "" {
		c.url = "ws://localhost:8080"
	}
	r := &resolved{urls: c.url}
	var err error
	if r.adminURL, err = adminURLFor(c.adminURL, c.url); err != nil {
		return nil, err
	}
	if r.token, err = tokenSource(c.token, c.tokenFile); err != nil {
		return nil, err
	}
	if r.tls, err = tlsConfig(c.caFile, c.certFile, c.keyFile, c.insecure); err != nil {
		return nil, err
	}
	return r, nil
}

// adminURLFor returns the admin URLs: the ones given, or the service URLs,
// which admin.New maps from ws(s) to http(s) (the WebSocket service and
// the admin API share a port).
func adminURLFor(admin, service string) (string, error) {
	if admin != "" {
		return strings.TrimRight(admin, "/"), nil
	}
	return service, nil
}

// tokenSource returns a token provider, or nil for no token. A token file
// is read now, to fail early, and again at each connection.
func tokenSource(token, file string) (func(context.Context) (string, error), error) {
	if token != "" {
		return func(context.Context) (string, error) { return token, nil }, nil
	}
	if file == "" {
		return nil, nil
	}
	read := func(context.Context) (string, error) {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		t := strings.TrimSpace(string(b))
		if t == "" {
			return "", fmt.Errorf("token file %s is empty", file)
		}
		return t, nil
	}
	if _, err := read(context.Background()); err != nil {
		return nil, usageErr("--token-file: %v", err)
	}
	return read, nil
}

func tlsConfig(caFile, certFile, keyFile string, insecure bool) (*tls.Config, error) {
	if caFile == "" && certFile == "" && keyFile == "" && !insecure {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, usageErr("--tls-ca: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, usageErr("--tls-ca: %s holds no PEM certificate", caFile)
		}
		cfg.RootCAs = pool
	}
	if (certFile == "") != (keyFile == "") {
		return nil, usageErr("--tls-cert and --tls-key go together")
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, usageErr("--tls-cert/--tls-key: %v", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// client returns a stargate client for the resolved settings.
func (r *resolved) client() (*stargate.Client, error) {
	opts := &stargate.ClientOptions{TokenProvider: r.token, TLSConfig: r.tls}
	c, err := stargate.NewClient(r.urls, opts)
	if err != nil {
		return nil, &usageError{msg: "--url: " + err.Error()}
	}
	return c, nil
}

// admin returns an admin REST client for the resolved settings.
func (r *resolved) admin() (*admin.Client, error) {
	c, err := admin.New(r.adminURL, &admin.Options{TokenProvider: r.token, TLSConfig: r.tls})
	if err != nil {
		return nil, &usageError{msg: "--admin-url: " + err.Error()}
	}
	return c, nil
}

// dialCtx bounds one connection attempt by --connect-timeout.
func (a *app) dialCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, a.conn.connectTimeout)
}

// output checks -o against the formats a command knows and returns it,
// def when unset.
func (a *app) output(cmd, def string, allowed ...string) (string, error) {
	o := a.conn.output
	if o == "" {
		return def, nil
	}
	for _, v := range allowed {
		if o == v {
			return o, nil
		}
	}
	return "", &usageError{msg: fmt.Sprintf("%s: -o %q: want one of %s", cmd, o, strings.Join(allowed, ", ")), hint: "stargate " + cmd}
}
