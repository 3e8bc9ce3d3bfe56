package stargate

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stargate-go/stargate/internal/wsconn"
)

// This file holds what producers, consumers and readers share: the
// lifecycle of a handle's connection (dial, reconnect with backoff, close)
// and error translation. Each handle owns one link; the link owns one
// goroutine, which watches the current socket and replaces it when it dies.

// endpoint is the handle side of a link.
type endpoint interface {
	// query returns the query parameters for the next dial; a reader
	// changes its start position as it reads.
	query() url.Values
	// prepare is called, on the dialling goroutine, for every new socket
	// before it can receive anything; it returns what receives the
	// socket's frames.
	prepare(s *sock) receiver
	// connected is called, on the link goroutine, once a reconnect succeeded
	// and s is the link's current socket.
	connected(s *sock)
	// lost is called, on the link goroutine, when s has died and before a
	// new socket is dialled.
	lost(s *sock, err error)
	// failed is called once, on the link goroutine, when the link gives up
	// (a terminal error), before done is closed.
	failed(err error)
	// tick is called about once a second on the link goroutine.
	tick(now time.Time)
}

// receiver handles the frames of one socket: the Producer itself, or the
// inbox's inConn of that socket.
type receiver interface {
	// onMessage handles one frame, on the socket's read goroutine. It must
	// not block for long; data is valid only during the call.
	onMessage(data []byte)
}

// sock is one WebSocket connection of a link. A new sock is made for every
// dial; messages remember (through their inConn) the sock that delivered
// them.
type sock struct {
	conn  *wsconn.Conn  // set before ready is closed
	ready chan struct{} // closed once the dial has returned
	recv  receiver      // set before the dial
}

func (s *sock) OnMessage(data []byte) {
	<-s.ready
	s.recv.onMessage(data)
}

func (s *sock) OnClose(error) {}

// write sends one frame; it fails if the socket is dead.
func (s *sock) write(p []byte) error {
	<-s.ready
	return s.conn.Write(p)
}

func (s *sock) dead() bool {
	select {
	case <-s.conn.Done():
		return true
	default:
		return false
	}
}

// link keeps one handle connected.
type link struct {
	client *Client
	ep     endpoint
	path   string // "/ws/v2/producer/persistent/t/ns/x"

	cur     atomic.Pointer[sock]
	mu      sync.Mutex
	changed chan struct{} // closed and replaced when cur changes
	err     error         // terminal error, set before done is closed

	closing   chan struct{}
	closeOnce sync.Once
	fatal     chan error         // fail's error for the link goroutine; one slot
	drops     chan *sock         // sockets to drop and replace; one slot
	cancel    context.CancelFunc // cancels a dial in progress
	ctx       context.Context
	done      chan struct{} // closed when the link goroutine has ended
	urlIndex  int

	obs  Observer   // ClientOptions.Observer; nil for none
	info HandleInfo // names the handle in the observer's events
	conn connCounters
}

// newLink returns an unstarted link for path. The handle stores it before
// calling start, so that frames arriving during the first dial find the
// handle complete.
func (c *Client) newLink(path string, ep endpoint) *link {
	return &link{
		client:  c,
		ep:      ep,
		path:    path,
		changed: make(chan struct{}),
		closing: make(chan struct{}),
		fatal:   make(chan error, 1),
		drops:   make(chan *sock, 1),
		done:    make(chan struct{}),
		obs:     c.opts.Observer,
		info:    handleInfo(path),
	}
}

// start dials the first connection under ctx and, on success, starts the
// link goroutine. On error nothing is left running.
func (l *link) start(ctx context.Context) error {
	s, err := l.dial(ctx)
	// With several service URLs, a node that cannot be reached is skipped;
	// a refusal by a server that answered is final. The error names every
	// URL tried (each dial error names its host), not only the last.
	var tried []error
	for tries := 1; err != nil && tries < len(l.client.urls) && ctx.Err() == nil; tries++ {
		var ce *ConnectError
		if errors.As(err, &ce) {
			break
		}
		tried = append(tried, err)
		l.urlIndex++
		s, err = l.dial(ctx)
	}
	if err != nil {
		if len(tried) > 0 {
			tried = append(tried, err)
			err = dialErrors(tried)
		}
		return err
	}
	l.cur.Store(s)
	l.ctx, l.cancel = context.WithCancel(context.Background())
	go l.run()
	return nil
}

// dialErrors are the failed first dials of a handle, one per service URL
// tried, in order; errors.Is and errors.As see each.
type dialErrors []error

func (e dialErrors) Error() string {
	msgs := make([]string, len(e))
	for i, err := range e {
		msgs[i] = err.Error()
	}
	return "stargate: " + strconv.Itoa(len(e)) + " service URLs tried: " + strings.Join(msgs, "; ")
}

func (e dialErrors) Unwrap() []error { return e }

// dial makes one connection attempt to the current URL.
func (l *link) dial(ctx context.Context) (*sock, error) {
	c := l.client
	base := c.urls[l.urlIndex%len(c.urls)]
	tok, err := c.token(ctx)
	if err != nil {
		return nil, err
	}
	q := l.ep.query()
	hdr := c.opts.Header.Clone()
	if hdr == nil {
		hdr = http.Header{}
	}
	if tok != "" {
		if c.opts.TokenInQuery {
			q.Set("token", tok)
		} else {
			hdr.Set("Authorization", "Bearer "+tok)
		}
	}
	u := *base
	// l.path is escaped already (escapeName) and must go out byte for
	// byte: RawPath carries it, and Path is its decoded form, without
	// which URL.String would escape the path a second time.
	u.RawPath = base.EscapedPath() + l.path
	if u.Path, err = url.PathUnescape(u.RawPath); err != nil {
		return nil, err
	}
	u.RawQuery = q.Encode()
	s := &sock{ready: make(chan struct{})}
	s.recv = l.ep.prepare(s)
	conn, err := wsconn.Dial(ctx, wsconn.Options{
		URL:       u.String(),
		Header:    hdr,
		TLSConfig: c.tls,
		KeepAlive: c.opts.KeepAlive,
		ReadLimit: c.opts.MaxMessageSize,
		Proxy:     c.proxy(),
		Dialer:    c.opts.NetDialContext,
		Logger:    c.opts.Logger,
	}, s)
	if err != nil {
		close(s.ready)
		return nil, l.translate(err, tok)
	}
	s.conn = conn
	close(s.ready)
	return s, nil
}

// translate turns a wsconn error into the package's error types and makes
// sure the token appears nowhere in it.
func (l *link) translate(err error, tok string) error {
	var he *wsconn.HandshakeError
	if errors.As(err, &he) {
		err = &ConnectError{StatusCode: he.StatusCode, Message: he.Message, Path: l.path}
	}
	var ce *wsconn.CloseError
	if errors.As(err, &ce) {
		err = &CloseError{Code: ce.Code, Reason: ce.Reason}
	}
	if errors.Is(err, wsconn.ErrReadLimit) {
		err = ErrMessageTooLarge
	}
	err = proxyError(err)
	if tok != "" && strings.Contains(err.Error(), tok) {
		err = &redactedError{msg: strings.ReplaceAll(err.Error(), tok, "REDACTED"), err: err}
	}
	return err
}

// redactedError hides a token that a lower layer put in an error text,
// while keeping the cause matchable.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// terminal reports whether an error means reconnecting cannot help: a dial
// refused with 400, 401, 403 or 404, or with 503 because the topic was
// terminated (ErrTopicTerminated; see IsRetryable), or a
// connection lost to a message over ClientOptions.MaxMessageSize, which
// the broker would send again, or a proxy's refusal that is not retryable
// (407 wrong proxy credentials, say). Transport errors, 409, 429, other 5xx and
// token provider failures are retried with backoff.
func terminal(err error) bool {
	var ce *ConnectError
	return errors.As(err, &ce) && !ce.temporary() || errors.Is(err, ErrMessageTooLarge) || proxyTerminal(err)
}

// fail ends the link with err (a *ProtocolError, say) instead of
// reconnecting; it is safe from a socket's read goroutine.
func (l *link) fail(err error) {
	select {
	case l.fatal <- err:
	default: // one failure is enough
	}
}

// drop aborts s, which is then replaced as if it had been lost; it is safe
// from s's read goroutine (which must not abort its own connection).
func (l *link) drop(s *sock) {
	select {
	case l.drops <- s:
	default: // a drop is already on its way
	}
}

// current returns the current socket.
func (l *link) current() *sock { return l.cur.Load() }

// next waits until the link has a socket other than old, or ends.
func (l *link) next(ctx context.Context, old *sock) (*sock, error) {
	for {
		l.mu.Lock()
		s, ch := l.cur.Load(), l.changed
		l.mu.Unlock()
		if s != old {
			return s, nil
		}
		select {
		case <-ch:
		case <-l.done:
			return nil, l.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (l *link) run() {
	defer close(l.done)
	defer l.cancel()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	s := l.cur.Load()
	for {
		select {
		case <-s.conn.Done():
		case <-l.closing:
			_ = s.conn.Close()
			return
		case d := <-l.drops:
			if d == s {
				s.conn.Abort() // then Done fires and the socket is replaced
			}
			continue
		case err := <-l.fatal:
			// The server said something the client cannot go on from.
			s.conn.Abort()
			l.err = err
			l.connEvent(ConnFailed, err, 0)
			l.ep.failed(err)
			return
		case now := <-tick.C:
			l.ep.tick(now)
			continue
		}
		err := l.translate(s.conn.Err(), "")
		l.client.logger().Warn("stargate: connection lost", "path", l.path, "err", err)
		l.connEvent(ConnLost, err, 0)
		l.ep.lost(s, err)
		stop := terminal(err)
		select {
		case ferr := <-l.fatal: // the socket's last frames, or lost, said to stop
			err, stop = ferr, true
		default:
		}
		if stop {
			l.err = err
			l.connEvent(ConnFailed, err, 0)
			l.ep.failed(err)
			return
		}
		ns, err := l.reconnect(tick)
		if err != nil {
			if !errors.Is(err, ErrClosed) {
				l.err = err
				l.connEvent(ConnFailed, err, 0)
				l.ep.failed(err)
			}
			return
		}
		s = ns
		l.mu.Lock()
		l.cur.Store(s)
		close(l.changed)
		l.changed = make(chan struct{})
		l.mu.Unlock()
		l.ep.connected(s)
	}
}

// reconnect dials with exponential backoff and jitter until it succeeds,
// the link is closed (ErrClosed) or an error is terminal.
func (l *link) reconnect(tick *time.Ticker) (*sock, error) {
	first, most := l.client.opts.ReconnectDelay, l.client.opts.MaxReconnectDelay
	delay := first
	for attempt := 1; ; attempt++ {
		wait := delay/2 + rand.N(delay/2+1)
		timer := time.NewTimer(wait)
	sleep:
		for {
			select {
			case <-l.closing:
				timer.Stop()
				return nil, ErrClosed
			case now := <-tick.C:
				l.ep.tick(now)
			case <-timer.C:
				break sleep
			}
		}
		if len(l.client.urls) > 1 {
			l.urlIndex++
		}
		ctx, cancel := context.WithTimeout(l.ctx, l.client.opts.DialTimeout)
		s, err := l.dial(ctx)
		cancel()
		if err == nil {
			l.client.logger().Info("stargate: reconnected", "path", l.path, "attempts", attempt)
			l.connEvent(ConnReconnected, nil, attempt)
			return s, nil
		}
		select {
		case <-l.closing:
			return nil, ErrClosed
		default:
		}
		l.client.logger().Warn("stargate: reconnect failed", "path", l.path, "attempt", attempt, "err", err)
		l.connEvent(ConnDialFailed, err, attempt)
		if terminal(err) {
			return nil, err
		}
		delay = min(delay*2, most)
	}
}

// close stops the link: the current socket is closed gracefully (queued
// frames are flushed, within a bound) and the link goroutine is joined.
func (l *link) close() {
	l.closeOnce.Do(func() {
		close(l.closing)
		l.cancel()
	})
	<-l.done
}

// finished returns a channel closed once the link goroutine has ended.
func (l *link) finished() <-chan struct{} { return l.done }

// ended returns, once the link goroutine has ended, why: the terminal
// error, or ErrClosed; nil while it runs.
func (l *link) ended() error {
	select {
	case <-l.done:
		return orClosed(l.err)
	default:
		return nil
	}
}

// isClosing reports whether close has been called.
func (l *link) isClosing() bool {
	select {
	case <-l.closing:
		return true
	default:
		return false
	}
}
