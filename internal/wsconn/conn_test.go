package wsconn

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lxzan/gws"
)

// orderChecker is a server handler that checks "writer,seq" frames arrive in per-writer order.
type orderChecker struct {
	gws.BuiltinEventHandler
	mu    sync.Mutex
	next  map[int]int
	total int
	want  int
	err   error
	all   chan struct{}
}

func (o *orderChecker) OnMessage(_ *gws.Conn, m *gws.Message) {
	defer m.Close()
	w, seq, _ := strings.Cut(string(m.Bytes()), ",")
	wi, _ := strconv.Atoi(w)
	si, _ := strconv.Atoi(seq)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err == nil && o.next[wi] != si {
		o.err = fmt.Errorf("writer %d: got seq %d, want %d", wi, si, o.next[wi])
	}
	o.next[wi] = si + 1
	if o.total++; o.total == o.want {
		close(o.all)
	}
}

func TestCoalescedWritesKeepOrder(t *testing.T) {
	const writers, perWriter = 8, 12500
	oc := &orderChecker{next: map[int]int{}, want: writers * perWriter, all: make(chan struct{})}
	s := newServer(t, oc, serverOpts{})
	c := dial(t, Options{URL: s.wsURL("/ws")}, newRecorder())

	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			buf := make([]byte, 0, 32)
			for i := range perWriter {
				buf = fmt.Appendf(buf[:0], "%d,%d", w, i) // buffer reused after Write returns
				if err := c.Write(buf); err != nil {
					t.Errorf("Write: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	select {
	case <-oc.all:
	case <-time.After(10 * time.Second):
		t.Fatalf("server got %d of %d frames", oc.total, oc.want)
	}
	oc.mu.Lock()
	defer oc.mu.Unlock()
	if oc.err != nil {
		t.Fatal(oc.err)
	}
	c.cork.mu.Lock()
	flushes := c.cork.flushes
	c.cork.mu.Unlock()
	t.Logf("%d frames in %d socket writes (%.1f frames/write)", oc.want, flushes, float64(oc.want)/float64(flushes))
	if flushes >= oc.want/2 {
		t.Errorf("%d socket writes for %d frames: not coalescing", flushes, oc.want)
	}
}

// closer is a server handler that answers "close" with a close frame.
type closer struct {
	gws.BuiltinEventHandler
	empty bool
}

func (cl closer) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	if cl.empty {
		_ = c.WriteMessage(gws.OpcodeCloseConnection, nil) // a close frame without payload
		return
	}
	_ = c.WriteClose(4001, []byte("topic deleted"))
}

func TestPeerClose(t *testing.T) {
	for _, tc := range []struct {
		name  string
		empty bool
		want  CloseError
	}{
		{"code and reason", false, CloseError{4001, "topic deleted"}},
		{"empty payload", true, CloseError{1005, ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, closer{empty: tc.empty}, serverOpts{})
			r := newRecorder()
			c := dial(t, Options{URL: s.wsURL("/ws")}, r)
			if err := c.Write([]byte("close")); err != nil {
				t.Fatal(err)
			}
			err := r.waitClose(t, 2*time.Second)
			var ce *CloseError
			if !errors.As(err, &ce) || *ce != tc.want {
				t.Fatalf("OnClose(%v), want %v", err, &tc.want)
			}
			waitDone(t, c, time.Second)
			if !errors.As(c.Err(), &ce) {
				t.Errorf("Err = %v", c.Err())
			}
			_ = c.Close() // after the fact: no-op
			if r.closeCount() != 1 {
				t.Errorf("OnClose called %d times", r.closeCount())
			}
		})
	}
}

func TestPeerDropsTCP(t *testing.T) {
	s := newServer(t, echo{}, serverOpts{})
	r := newRecorder()
	c := dial(t, Options{URL: s.wsURL("/ws")}, r)
	sc := <-s.accepted
	_ = sc.NetConn().Close()
	err := r.waitClose(t, 2*time.Second)
	var ce *CloseError
	if err == nil || errors.As(err, &ce) {
		t.Fatalf("OnClose(%v), want a transport error", err)
	}
	if !errors.Is(err, io.EOF) {
		t.Logf("cause %v is not io.EOF (platform-dependent)", err)
	}
	waitDone(t, c, time.Second)
}

// mute is a server handler that never answers pings and counts those it got.
type mute struct {
	gws.BuiltinEventHandler
	pings atomic.Int32
}

func (m *mute) OnPing(*gws.Conn, []byte) { m.pings.Add(1) }

func TestKeepaliveDetectsSilentPeer(t *testing.T) {
	const every = 40 * time.Millisecond
	m := &mute{}
	s := newServer(t, m, serverOpts{})
	r := newRecorder()
	start := time.Now()
	c := dial(t, Options{URL: s.wsURL("/ws"), KeepAlive: every}, r)
	err := r.waitClose(t, 5*time.Second)
	elapsed := time.Since(start)
	if !errors.Is(err, ErrKeepaliveTimeout) {
		t.Fatalf("OnClose(%v), want ErrKeepaliveTimeout", err)
	}
	// The upper bound leaves room for a loaded machine (-race, 2 cores
	// shared with brokers): it failed at 20 intervals there.
	if elapsed < 2*every || elapsed > 100*every {
		t.Errorf("detected after %v with a %v interval", elapsed, every)
	}
	if m.pings.Load() < 2 {
		t.Errorf("server saw %d pings", m.pings.Load())
	}
	waitDone(t, c, time.Second)
	t.Logf("%v after %v", err, elapsed)
}

// pongCounter is a server handler that pings the client and records the pong payloads.
type pongCounter struct {
	gws.BuiltinEventHandler // answers the client's pings
	pongs                   chan string
	pings                   atomic.Int32
}

func (p *pongCounter) OnOpen(c *gws.Conn)                 { _ = c.WritePing([]byte("abc")) }
func (p *pongCounter) OnPong(_ *gws.Conn, payload []byte) { p.pongs <- string(payload) }
func (p *pongCounter) OnPing(c *gws.Conn, payload []byte) {
	p.pings.Add(1)
	_ = c.WritePong(payload)
}

func TestKeepaliveHealthyPeerAndPongEcho(t *testing.T) {
	// Long enough that a loaded machine does not delay a pong past the
	// 2.5-interval silence limit (30 ms failed there).
	const every = 150 * time.Millisecond
	p := &pongCounter{pongs: make(chan string, 1)}
	s := newServer(t, p, serverOpts{})
	c := dial(t, Options{URL: s.wsURL("/ws"), KeepAlive: every}, newRecorder())
	select {
	case got := <-p.pongs:
		if got != "abc" {
			t.Errorf("pong payload %q, want the ping's %q", got, "abc")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no pong")
	}
	time.Sleep(12 * every) // well past the 2.5-interval silence limit
	select {
	case <-c.Done():
		t.Fatalf("connection died: %v", c.Err())
	default:
	}
	if n := p.pings.Load(); n < 5 {
		t.Errorf("server saw %d pings in %v", n, 12*every)
	}
	_ = c.Close()
	if c.Err() != nil {
		t.Errorf("Err = %v", c.Err())
	}
}

// fillUntilBlocked writes 64 KiB frames from a goroutine until Write blocks; it returns
// a channel that gets the writer's final error.
func fillUntilBlocked(t *testing.T, c *Conn) <-chan error {
	t.Helper()
	var n atomic.Int64
	res := make(chan error, 1)
	go func() {
		frame := make([]byte, 64<<10)
		for {
			if err := c.Write(frame); err != nil {
				res <- err
				return
			}
			n.Add(1)
		}
	}()
	last := int64(-1)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		if cur := n.Load(); cur == last {
			t.Logf("writer blocked after %d frames (%d MiB)", cur, cur/16)
			return res
		} else {
			last = cur
		}
	}
	t.Fatal("writer never blocked against a peer that does not read")
	return nil
}

func TestCloseStalledPeer(t *testing.T) {
	s := newServer(t, echo{}, serverOpts{noRead: true})
	r := newRecorder()
	c := dial(t, Options{URL: s.wsURL("/ws"), KeepAlive: -1}, r)
	writeErr := fillUntilBlocked(t, c)

	start := time.Now()
	_ = c.Close()
	if d := time.Since(start); d > closeTimeout+500*time.Millisecond {
		t.Errorf("Close took %v against a stalled peer", d)
	} else {
		t.Logf("Close took %v", d)
	}
	select {
	case err := <-writeErr:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("blocked Write returned %v, want net.ErrClosed", err)
		}
	case <-time.After(time.Second):
		t.Fatal("blocked Write did not return after Close")
	}
	if err := r.waitClose(t, time.Second); err != nil {
		t.Errorf("OnClose(%v), want nil", err)
	}
}

func TestWriteTimeoutKillsConn(t *testing.T) {
	s := newServer(t, echo{}, serverOpts{noRead: true})
	r := newRecorder()
	c := dial(t, Options{URL: s.wsURL("/ws"), KeepAlive: -1, WriteTimeout: 300 * time.Millisecond}, r)
	var n atomic.Int64
	writeErr := make(chan error, 1)
	go func() {
		frame := make([]byte, 64<<10)
		for {
			if err := c.Write(frame); err != nil {
				writeErr <- err
				return
			}
			n.Add(1)
		}
	}()
	err := r.waitClose(t, 10*time.Second)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("OnClose(%v), want a write deadline error", err)
	}
	select {
	case werr := <-writeErr:
		if !errors.Is(werr, net.ErrClosed) {
			t.Errorf("Write returned %v", werr)
		}
	case <-time.After(time.Second):
		t.Fatal("blocked Write did not return after the conn died")
	}
	waitDone(t, c, time.Second)
	t.Logf("%v", err)
}

func TestWriteLimit(t *testing.T) {
	s := newServer(t, echo{}, serverOpts{})
	r := newRecorder()
	c := dial(t, Options{URL: s.wsURL("/ws"), WriteLimit: 1024}, r)
	if err := c.Write(make([]byte, 1025)); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("Write(1025 B) = %v, want ErrMessageTooLarge", err)
	}
	if err := c.Write([]byte(strings.Repeat("x", 1024))); err != nil {
		t.Fatalf("Write(1024 B) after the refusal: %v", err)
	}
	if got := r.next(t); len(got) != 1024 {
		t.Fatalf("echo of %d bytes", len(got))
	}
}

func TestReadLimit(t *testing.T) {
	s := newServer(t, echo{}, serverOpts{})
	r := newRecorder()
	c := dial(t, Options{URL: s.wsURL("/ws"), ReadLimit: 100}, r)
	if err := c.Write(make([]byte, 101)); err != nil { // echoed back: over the read limit
		t.Fatal(err)
	}
	err := r.waitClose(t, 2*time.Second)
	if !errors.Is(err, ErrReadLimit) {
		t.Fatalf("OnClose(%v) after an oversized inbound message, want ErrReadLimit", err)
	}
	waitDone(t, c, time.Second)
	if !errors.Is(c.Err(), ErrReadLimit) {
		t.Fatalf("Err() = %v, want ErrReadLimit", c.Err())
	}
}

func TestCloseConcurrentWithWrites(t *testing.T) {
	s := newServer(t, echo{}, serverOpts{})
	r := newRecorder()
	c := dial(t, Options{URL: s.wsURL("/ws")}, r)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				if err := c.Write([]byte("x")); err != nil {
					if !errors.Is(err, net.ErrClosed) {
						t.Errorf("Write: %v", err)
					}
					return
				}
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	for range 3 {
		wg.Go(func() { _ = c.Close() })
	}
	wg.Wait()
	if err := r.waitClose(t, time.Second); err != nil {
		t.Errorf("OnClose(%v)", err)
	}
	if r.closeCount() != 1 {
		t.Errorf("OnClose called %d times", r.closeCount())
	}
}

func TestAbort(t *testing.T) {
	s := newServer(t, echo{}, serverOpts{})
	r := newRecorder()
	c := dial(t, Options{URL: s.wsURL("/ws")}, r)
	c.Abort()
	select {
	case <-c.Done():
	default:
		t.Fatal("Done open after Abort returned")
	}
	if err := r.waitClose(t, time.Second); err != nil {
		t.Errorf("OnClose(%v), want nil", err)
	}
	c.Abort()
	_ = c.Close()
	if r.closeCount() != 1 {
		t.Errorf("OnClose called %d times", r.closeCount())
	}
}

// panicky panics in OnMessage; gws.Recovery must keep the process and the conn alive.
type panicky struct{ *recorder }

func (p panicky) OnMessage(data []byte) {
	if string(data) == "boom" {
		panic("handler bug")
	}
	p.recorder.OnMessage(data)
}

func TestHandlerPanicIsRecovered(t *testing.T) {
	s := newServer(t, echo{}, serverOpts{})
	r := newRecorder()
	c := dial(t, Options{URL: s.wsURL("/ws")}, panicky{r})
	_ = c.Write([]byte("boom"))
	_ = c.Write([]byte("after"))
	if got := r.next(t); got != "after" {
		t.Fatalf("got %q", got)
	}
}
