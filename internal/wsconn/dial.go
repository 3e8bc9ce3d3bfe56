package wsconn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/lxzan/gws"
)

// Dial opens a WebSocket connection to opts.URL and starts its goroutines; h receives
// inbound messages and the close (OnMessage may run before Dial returns). ctx bounds the
// TCP connect, the TLS handshake and the upgrade, not the connection's life; when ctx
// ends the dial, the error satisfies errors.Is(err, ctx.Err()). A refused upgrade gives a
// *HandshakeError; a proxy that cannot be reached or refuses the CONNECT, a *ProxyError.
// A failed Dial leaves no goroutine behind and never calls h.
func Dial(ctx context.Context, opts Options, h Handler) (*Conn, error) {
	if h == nil {
		return nil, errors.New("wsconn: nil Handler")
	}
	o := opts.withDefaults()
	u, err := url.Parse(o.URL)
	if err != nil {
		return nil, fmt.Errorf("wsconn: bad URL: %w", err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return nil, fmt.Errorf("wsconn: bad URL scheme %q: want ws or wss", u.Scheme)
	}
	addr := hostPort(u)

	raw, transport, err := dialTransport(ctx, o, u, addr)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "wss" {
		tc := tls.Client(transport, tlsConfig(o.TLSConfig, u))
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = raw.Close()
			return nil, ctxErr(ctx, fmt.Errorf("wsconn: TLS handshake with %s: %w", addr, err))
		}
		transport = tc
	}
	return upgrade(ctx, o, h, transport, raw)
}

// upgrade runs the HTTP upgrade over the coalescing conn and starts the goroutines.
func upgrade(ctx context.Context, o Options, h Handler, transport, raw net.Conn) (*Conn, error) {
	c := &Conn{
		h:          h,
		log:        o.Logger,
		writeLimit: o.WriteLimit,
		keepAlive:  o.KeepAlive,
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	c.cork = newCorkConn(transport, raw, o.WriteTimeout, bufferLimit, func(err error) {
		if c.setCause(fmt.Errorf("wsconn: socket write: %w", err)) {
			c.log.Debug("wsconn: socket write failed", "err", err)
		}
	})
	c.wg.Go(c.cork.flushLoop) // the upgrade request itself goes through the flusher

	aborted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { // ends a hanging upgrade
		c.cork.abort()
		close(aborted)
	})
	gc, resp, err := gws.NewClientFromConn((*events)(c), &gws.ClientOption{
		Addr:                o.URL,
		RequestHeader:       o.Header,
		HandshakeTimeout:    handshakeTimeout(ctx),
		ReadMaxPayloadSize:  o.ReadLimit,
		WriteMaxPayloadSize: o.WriteLimit,
		Recovery:            gws.Recovery,
		Logger:              gwsLogger{o.Logger},
	}, c.cork)
	if !stop() {
		<-aborted // join the AfterFunc goroutine
		if err == nil {
			err = net.ErrClosed // ctx fired just as the upgrade succeeded: the socket is gone
		}
	}
	if err != nil {
		c.cork.abort()
		c.wg.Wait()
		return nil, upgradeErr(ctx, resp, err)
	}

	c.gc = gc
	c.touch()
	if c.keepAlive > 0 {
		c.wg.Go(c.keepalive)
	}
	go c.run()
	return c, nil
}

func upgradeErr(ctx context.Context, resp *http.Response, err error) error {
	if ctx.Err() != nil {
		return ctxErr(ctx, fmt.Errorf("wsconn: upgrade: %w", err))
	}
	if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
		return &HandshakeError{StatusCode: resp.StatusCode, Message: readRefusal(resp)}
	}
	return fmt.Errorf("wsconn: upgrade: %w", err)
}

// ctxErr makes err match ctx.Err() when ctx has ended.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: %w", cerr, err)
	}
	return err
}

// handshakeTimeout keeps gws's own timeout out of the way: ctx bounds the upgrade. (A gws
// timeout firing first is also the path of its parked-goroutine leak.)
func handshakeTimeout(ctx context.Context) time.Duration {
	const ceiling = 24 * time.Hour
	if dl, ok := ctx.Deadline(); ok {
		return min(time.Until(dl)+time.Second, ceiling)
	}
	return ceiling
}

func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "wss" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

func tlsConfig(cfg *tls.Config, u *url.URL) *tls.Config {
	if cfg == nil {
		cfg = &tls.Config{}
	} else {
		cfg = cfg.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = u.Hostname()
	}
	return cfg
}
