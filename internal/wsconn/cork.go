package wsconn

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// corkConn is the net.Conn handed to gws. It coalesces writes: Write only appends the
// frame to a buffer and a single flusher goroutine writes whatever has accumulated in
// one socket write, so frames written while a socket write is in progress share the
// next one. No lock is held across a socket write. Reads pass straight through.
//
// Text frames of the handle (Conn.Write) do not go through gws: writeFrame frames and masks
// them straight into the buffer, under the buffer's lock only, which saves gws's mutex, its
// per-frame allocation and its global mask-key lock. gws still writes the control frames
// (ping, pong, close) through Write, one call per frame; once it has queued a close frame,
// writeFrame refuses further frames, as gws would.
//
// Write never blocks: backpressure applies to the handle's frames only (writeFrame), so
// gws's own mutex is never held while waiting for buffer space.
type corkConn struct {
	net.Conn              // the transport: *tls.Conn for wss, else the TCP conn
	raw          net.Conn // the TCP conn; closing it is the kill switch (never tls.Conn.Close, which may block up to 5s)
	writeTimeout time.Duration
	limit        int
	onWriteError func(error) // records the cause of a failed socket write; called with mu held, must not call back

	mu        sync.Mutex
	wake      sync.Cond // the flusher waits here for data or closing
	room      sync.Cond // writers wait for space, Close for the drain
	buf       []byte    // frames waiting for the flusher
	spare     []byte    // the previous batch, reused
	flushing  bool      // a socket write is in progress
	closing   bool      // no more frames are accepted
	closeSent bool      // gws queued a close frame: no more data frames
	drainDone bool      // Close stopped waiting for the drain
	err       error     // sticky: why the conn is dead
	flushes   int       // socket writes started (for tests)

	closeOnce sync.Once
}

func newCorkConn(transport, raw net.Conn, writeTimeout time.Duration, limit int, onWriteError func(error)) *corkConn {
	w := &corkConn{Conn: transport, raw: raw, writeTimeout: writeTimeout, limit: limit, onWriteError: onWriteError}
	w.wake.L = &w.mu
	w.room.L = &w.mu
	return w
}

// Write queues one or more frames (gws calls it once per frame). It never blocks.
func (w *corkConn) Write(p []byte) (int, error) {
	w.mu.Lock()
	if err := w.deadLocked(); err != nil {
		w.mu.Unlock()
		return 0, err
	}
	if len(p) > 0 && p[0]&0x0f == opClose {
		w.closeSent = true
	}
	w.buf = append(w.buf, p...)
	w.mu.Unlock()
	w.wake.Signal()
	return len(p), nil
}

// opClose is the WebSocket close frame's opcode (RFC 6455 §5.2).
const opClose = 0x8

// writeFrame queues p as one masked text frame (RFC 6455 §5.2, §5.3), waiting while the
// queue holds limit bytes or more. It returns at once, with an error wrapping
// net.ErrClosed, when the conn is closing, dead or has queued a close frame. p may be
// reused once it returns.
func (w *corkConn) writeFrame(p []byte) error {
	key := rand.Uint32() // lock-free, per-thread ChaCha8: unpredictable, as §5.3 asks
	w.mu.Lock()
	for len(w.buf) >= w.limit && w.err == nil && !w.closing {
		w.room.Wait()
	}
	if err := w.deadLocked(); err != nil {
		w.mu.Unlock()
		return err
	}
	if w.closeSent {
		w.mu.Unlock()
		return net.ErrClosed
	}
	w.buf = appendMaskedFrame(w.buf, p, key)
	w.mu.Unlock()
	w.wake.Signal()
	return nil
}

// appendMaskedFrame appends a final, masked client text frame holding p.
func appendMaskedFrame(b, p []byte, key uint32) []byte {
	n := len(p)
	switch {
	case n < 126:
		b = append(b, 0x81, 0x80|byte(n))
	case n < 1<<16:
		b = append(b, 0x81, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x81, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = binary.LittleEndian.AppendUint32(b, key)
	start := len(b)
	b = append(b, p...)
	maskBytes(b[start:], key)
	return b
}

// maskBytes XORs p with the little-endian mask key, the key's first byte at p[0].
func maskBytes(p []byte, key uint32) {
	k8 := uint64(key) | uint64(key)<<32
	for len(p) >= 8 {
		binary.LittleEndian.PutUint64(p, binary.LittleEndian.Uint64(p)^k8)
		p = p[8:]
	}
	for i := range p {
		p[i] ^= byte(key >> (8 * (i & 3)))
	}
}

func (w *corkConn) deadLocked() error {
	switch {
	case w.err != nil:
		return fmt.Errorf("%w (%w)", net.ErrClosed, w.err)
	case w.closing:
		return net.ErrClosed
	}
	return nil
}

// flushLoop is the flusher goroutine. It ends when the conn is dead, or closing and drained.
func (w *corkConn) flushLoop() {
	w.mu.Lock()
	for {
		for len(w.buf) == 0 && !w.closing && w.err == nil {
			w.wake.Wait()
		}
		if w.err != nil || len(w.buf) == 0 {
			w.mu.Unlock()
			return
		}
		b := w.buf
		w.buf, w.spare = w.spare[:0], nil
		w.flushing = true
		w.flushes++
		w.mu.Unlock()
		w.room.Broadcast()

		err := w.writeOut(b)

		w.mu.Lock()
		w.flushing = false
		if cap(b) <= 4*w.limit { // don't keep a buffer grown by one huge message
			w.spare = b[:0]
		}
		if err != nil {
			if w.err == nil && !w.closing {
				w.onWriteError(err)
			}
			if w.err == nil {
				w.err = err
			}
			w.mu.Unlock()
			w.room.Broadcast()
			w.closeRaw()
			return
		}
		w.room.Broadcast()
	}
}

func (w *corkConn) writeOut(b []byte) error {
	if w.writeTimeout > 0 {
		if err := w.Conn.SetWriteDeadline(time.Now().Add(w.writeTimeout)); err != nil {
			return err
		}
	}
	_, err := w.Conn.Write(b)
	return err
}

// Close is called by gws after it queued a close frame (or on a failed handshake). It
// stops accepting frames, waits up to drainTimeout for the queue to reach the socket,
// then closes the TCP conn.
func (w *corkConn) Close() error {
	w.mu.Lock()
	w.closing = true
	w.wake.Signal()
	w.room.Broadcast() // release writers waiting for room
	t := time.AfterFunc(drainTimeout, func() {
		w.mu.Lock()
		w.drainDone = true
		w.mu.Unlock()
		w.room.Broadcast()
	})
	for (len(w.buf) > 0 || w.flushing) && w.err == nil && !w.drainDone {
		w.room.Wait()
	}
	w.mu.Unlock()
	t.Stop()
	return w.closeRaw()
}

// abort kills the conn at once: queued frames are dropped, a socket write in progress fails.
func (w *corkConn) abort() {
	w.mu.Lock()
	w.closing = true
	if w.err == nil {
		w.err = net.ErrClosed
	}
	w.mu.Unlock()
	w.wake.Signal()
	w.room.Broadcast()
	w.closeRaw()
}

func (w *corkConn) closeRaw() error {
	var err error
	w.closeOnce.Do(func() { err = w.raw.Close() })
	return err
}

// SetDeadline sets only the read deadline: write deadlines belong to the flusher.
func (w *corkConn) SetDeadline(t time.Time) error { return w.Conn.SetReadDeadline(t) }

// SetWriteDeadline is a no-op: write deadlines belong to the flusher.
func (w *corkConn) SetWriteDeadline(time.Time) error { return nil }
