// Package wsconn is one client WebSocket connection over gws, shaped for Pulsar's
// WebSocket API: a context-aware Dial, coalesced text-frame writes with backpressure,
// keepalive pings with a silence timeout, and a bounded graceful Close.
//
// # Design
//
// Writes go through corkConn: Write frames and masks the message straight into a
// buffer (gws frames only pings, pongs and the close); one flusher goroutine writes whatever has accumulated in a single socket
// write under Options.WriteTimeout, so concurrent writers share syscalls. Write blocks
// while 256 KiB or more is queued and returns at once when the connection closes. A
// failed socket write kills the connection.
//
// Each Conn runs three goroutines: the gws read loop (which calls the Handler), the
// flusher and the keepalive ticker. Done is closed once all three have ended.
//
// Close queues a 1000 close frame behind the pending frames, gives them up to 1s to
// reach the socket, closes the TCP connection without waiting for the peer's reply
// (gws behaviour), and waits for the read loop; after 2s in total it aborts.
package wsconn

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"
)

// Handler receives inbound events on the connection's single read goroutine. It must
// not block for long, and must not call Close or Abort on its own goroutine (both wait
// for the read goroutine); use `go c.Close()` there.
type Handler interface {
	// OnMessage gets one inbound text (or binary) message; data is only valid during the call.
	OnMessage(data []byte)
	// OnClose is called exactly once when the connection ends, with the cause
	// (nil when Close was called locally; *CloseError for a peer close frame; the transport error otherwise).
	OnClose(err error)
}

// Conn is one client WebSocket connection. Write, Close, Abort, Done and Err are safe
// for concurrent use. It is created by Dial and lives until Close, Abort, a peer close,
// a transport failure or a keepalive timeout; there is no reconnect.
type Conn struct {
	gc         *gws.Conn
	cork       *corkConn
	h          Handler
	log        *slog.Logger
	writeLimit int
	keepAlive  time.Duration

	seen atomic.Bool // an inbound frame arrived since the keepalive's last tick

	mu       sync.Mutex
	causeSet bool  // the first terminal event has been recorded
	cause    error // its error; nil for a local Close or Abort

	closeOnce sync.Once
	stop      chan struct{}  // closed when the read loop ended; stops the keepalive
	wg        sync.WaitGroup // flusher and keepalive
	done      chan struct{}
	err       error // the close cause, readable once done is closed
}

// Write sends p as one text frame. It is queued and coalesced with other frames into
// few socket writes; p may be reused once Write returns. Write blocks while 256 KiB or
// more is waiting for the socket, and returns an error wrapping net.ErrClosed when the
// connection is closing or dead (Err then tells why, once Done is closed). A message
// over Options.WriteLimit fails with ErrMessageTooLarge and the connection stays alive.
func (c *Conn) Write(p []byte) error {
	if len(p) > c.writeLimit {
		return fmt.Errorf("wsconn: write of %d bytes: %w", len(p), ErrMessageTooLarge)
	}
	if err := c.cork.writeFrame(p); err != nil {
		return fmt.Errorf("wsconn: write: %w", err)
	}
	return nil
}

// Close closes the connection gracefully: frames already queued are flushed (for up to
// 1s), a close frame with code 1000 is sent, the socket is closed and Close waits for
// the read goroutine; after 2s it aborts. It then waits for every goroutine to end.
// Close is idempotent and safe concurrently with Write; it always returns nil. The
// Handler's OnClose gets nil unless the connection had already failed.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.setCause(nil)
		t := time.NewTimer(closeTimeout)
		defer t.Stop()
		_ = c.gc.WriteClose(1000, nil) // queues the frame, drains (≤ drainTimeout), closes TCP
		select {
		case <-c.done:
		case <-t.C:
			c.log.Debug("wsconn: close timed out; aborting")
			c.cork.abort()
		}
	})
	<-c.done
	return nil
}

// Abort closes the socket at once, dropping queued frames, and waits for every goroutine
// to end. The Handler's OnClose gets nil unless the connection had already failed.
func (c *Conn) Abort() {
	c.setCause(nil)
	c.cork.abort()
	<-c.done
}

// Done is closed after OnClose has returned and every goroutine of the Conn has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns the close cause (the value given to OnClose) once Done is closed, else nil.
func (c *Conn) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// setCause records the first terminal event; later ones are ignored. It reports
// whether this call recorded it.
func (c *Conn) setCause(err error) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.causeSet {
		return false
	}
	c.causeSet, c.cause = true, err
	return true
}

// fail kills the connection with err as its cause (unless one is already recorded).
func (c *Conn) fail(err error) {
	if c.setCause(err) {
		c.log.Debug("wsconn: connection failed", "err", err)
	}
	c.cork.abort()
}

// resolveCause turns gws's close error into the cause given to OnClose, unless an
// earlier event (Close, Abort, a write failure, a keepalive timeout) already set one.
func (c *Conn) resolveCause(gerr error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.causeSet {
		c.causeSet, c.cause = true, translateClose(gerr)
	}
	return c.cause
}

func translateClose(err error) error {
	// gws reports a message over ReadMaxPayloadSize with its internal status
	// code 1009 (a peer's close frame is a *gws.CloseError instead).
	var sc interface {
		error
		Uint16() uint16
	}
	if errors.As(err, &sc) && sc.Uint16() == 1009 {
		return ErrReadLimit
	}
	var ce *gws.CloseError
	if errors.As(err, &ce) {
		code := int(ce.Code)
		if code == 0 {
			code = 1005 // RFC 6455 §7.1.5: no status code present
		}
		return &CloseError{Code: code, Reason: string(ce.Reason)}
	}
	return fmt.Errorf("wsconn: connection lost: %w", err)
}

// run is the read goroutine: gws's read loop, then the join of the other goroutines.
func (c *Conn) run() {
	c.gc.ReadLoop()
	close(c.stop)
	c.cork.abort() // normally already closed by gws; makes sure the flusher ends
	c.wg.Wait()
	close(c.done)
}

// touch notes an inbound frame. It costs no clock read (time.Now was ~100 ns per frame,
// a tenth of a producer's send): the keepalive goroutine turns the flag into a time
// on its next tick.
func (c *Conn) touch() {
	if !c.seen.Load() { // a read is cheaper than a store on a line another core reads
		c.seen.Store(true)
	}
}

// keepalive pings every interval and kills the connection after idleFactor/2 intervals
// without any inbound frame. A frame counts from the first tick after it arrived, so the
// silence is measured up to one interval short: a dead peer is found 2.5 to 4 intervals
// after its last frame, never sooner than 2.5.
func (c *Conn) keepalive() {
	t := time.NewTicker(c.keepAlive)
	defer t.Stop()
	limit := c.keepAlive * idleFactor / 2
	lastSeen := time.Now() // Dial's touch: the upgrade response
	c.seen.Store(false)
	for {
		var now time.Time
		select {
		case <-c.stop:
			return
		case now = <-t.C:
		}
		if c.seen.Swap(false) {
			lastSeen = now
		}
		if idle := now.Sub(lastSeen); idle > limit {
			c.fail(fmt.Errorf("%w for %v", ErrKeepaliveTimeout, idle.Round(time.Millisecond)))
			return
		}
		_ = c.gc.WritePing([]byte(pingPayload)) // an error here means the conn is going down anyway
	}
}

// events is the gws.Event side of a Conn, kept off Conn's method set.
type events Conn

func (e *events) conn() *Conn { return (*Conn)(e) }

func (e *events) OnOpen(*gws.Conn) {}

func (e *events) OnPing(s *gws.Conn, payload []byte) {
	e.conn().touch()
	_ = s.WritePong(payload) // echo, as RFC 6455 §5.5.3 requires
}

func (e *events) OnPong(*gws.Conn, []byte) { e.conn().touch() }

func (e *events) OnMessage(_ *gws.Conn, m *gws.Message) {
	c := e.conn()
	c.touch()
	defer m.Close() // returns the buffer to gws's pool even if the handler panics
	c.h.OnMessage(m.Bytes())
}

func (e *events) OnClose(_ *gws.Conn, err error) {
	c := e.conn()
	cause := c.resolveCause(err)
	c.err = cause
	c.log.Debug("wsconn: closed", "cause", cause)
	c.h.OnClose(cause)
}
