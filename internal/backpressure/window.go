// Package backpressure holds stargate's two flow-control mechanisms: the
// producer's in-flight window (by message count and by bytes) and the
// pull-mode permit controller that turns iterator demand into permit frames.
//
// The Pulsar WebSocket server pushes back on neither: a producer that sends
// faster than the broker acknowledges only grows the server's memory, and a
// pull-mode consumer receives exactly what it has permitted. Both limits are
// therefore the client's own and live here.
package backpressure

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrTooLarge is returned by Window.Acquire for a message larger than the
// whole byte budget: it could never be admitted.
var ErrTooLarge = errors.New("message larger than the window's byte budget")

// Window bounds what a producer has in flight: at most Count messages and
// at most Bytes payload bytes whose acknowledgements are outstanding.
//
// Acquire blocks until both budgets have room (or ctx ends); Release returns
// a message's share when its acknowledgement, error or timeout arrives.
// Waiters are served in arrival order (a large message is not overtaken by
// small ones), as with x/sync's semaphore, which this replaces: that one
// allocated a channel and a list element for every Acquire that had to
// wait, which in a saturated producer is every send. Here a waiter's wake
// channel comes from a pool and is reused. Methods are safe for
// concurrent use.
type Window struct {
	mu       sync.Mutex
	count    int64 // messages held
	bytes    int64 // bytes held
	maxCount int64
	maxBytes int64
	waiters  []*waiter // FIFO; waiters[0] is served first
}

// waiter is one blocked Acquire. ready (one slot) receives a token once
// Release has granted it its share; granted is set at the same time, under
// the window's lock.
type waiter struct {
	size    int64
	granted bool
	ready   chan struct{}
}

var waiterPool = sync.Pool{New: func() any { return &waiter{ready: make(chan struct{}, 1)} }}

// NewWindow returns a window of maxCount messages and maxBytes bytes.
// Both must be positive.
func NewWindow(maxCount, maxBytes int64) *Window {
	if maxCount <= 0 || maxBytes <= 0 {
		panic(fmt.Sprintf("backpressure: window %d messages, %d bytes", maxCount, maxBytes))
	}
	return &Window{maxCount: maxCount, maxBytes: maxBytes}
}

func (w *Window) fits(size int64) bool {
	return w.count < w.maxCount && w.bytes+size <= w.maxBytes
}

// Acquire takes one message slot and size bytes. It returns ctx's error
// (unwrapped, so errors.Is matches ctx.Err()) if ctx ends first, and
// ErrTooLarge if size exceeds the byte budget. On error nothing is held.
func (w *Window) Acquire(ctx context.Context, size int64) error {
	if size > w.maxBytes {
		return ErrTooLarge
	}
	w.mu.Lock()
	if len(w.waiters) == 0 && w.fits(size) {
		w.count++
		w.bytes += size
		w.mu.Unlock()
		return nil
	}
	if err := ctx.Err(); err != nil {
		w.mu.Unlock()
		return err
	}
	wt := waiterPool.Get().(*waiter)
	wt.size, wt.granted = size, false
	w.waiters = append(w.waiters, wt)
	w.mu.Unlock()

	select {
	case <-wt.ready:
		waiterPool.Put(wt)
		return nil
	case <-ctx.Done():
	}
	w.mu.Lock()
	if wt.granted {
		// Granted as ctx ended: give the share back (others may fit now).
		w.count--
		w.bytes -= size
		w.notifyLocked()
		w.mu.Unlock()
		<-wt.ready // the token sent with the grant
	} else {
		front := w.waiters[0] == wt
		for i, o := range w.waiters {
			if o == wt {
				last := len(w.waiters) - 1
				copy(w.waiters[i:], w.waiters[i+1:])
				w.waiters[last] = nil
				w.waiters = w.waiters[:last]
				break
			}
		}
		if front {
			w.notifyLocked() // the next one may fit where this one did not
		}
		w.mu.Unlock()
	}
	waiterPool.Put(wt)
	return ctx.Err()
}

// Release returns one message slot and size bytes taken by Acquire.
func (w *Window) Release(size int64) {
	w.mu.Lock()
	w.count--
	w.bytes -= size
	if w.count < 0 || w.bytes < 0 {
		w.mu.Unlock()
		panic("backpressure: window released more than held")
	}
	w.notifyLocked()
	w.mu.Unlock()
}

// notifyLocked grants waiters in order while the head fits.
func (w *Window) notifyLocked() {
	n := 0
	for _, wt := range w.waiters {
		if !w.fits(wt.size) {
			break
		}
		w.count++
		w.bytes += wt.size
		wt.granted = true
		wt.ready <- struct{}{} // one slot, empty: never blocks
		n++
	}
	if n > 0 {
		rest := copy(w.waiters, w.waiters[n:])
		clear(w.waiters[rest:])
		w.waiters = w.waiters[:rest]
	}
}
