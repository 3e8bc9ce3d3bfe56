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

	"golang.org/x/sync/semaphore"
)

// ErrTooLarge is returned by Window.Acquire for a message larger than the
// whole byte budget: it could never be admitted.
var ErrTooLarge = errors.New("message larger than the window's byte budget")

// Window bounds what a producer has in flight: at most Count messages and
// at most Bytes payload bytes whose acknowledgements are outstanding.
//
// Acquire blocks until both budgets have room (or ctx ends); Release returns
// a message's share when its acknowledgement, error or timeout arrives.
// Methods are safe for concurrent use.
type Window struct {
	count *semaphore.Weighted
	bytes *semaphore.Weighted
	max   int64
}

// NewWindow returns a window of maxCount messages and maxBytes bytes.
// Both must be positive.
func NewWindow(maxCount, maxBytes int64) *Window {
	if maxCount <= 0 || maxBytes <= 0 {
		panic(fmt.Sprintf("backpressure: window %d messages, %d bytes", maxCount, maxBytes))
	}
	return &Window{
		count: semaphore.NewWeighted(maxCount),
		bytes: semaphore.NewWeighted(maxBytes),
		max:   maxBytes,
	}
}

// Acquire takes one message slot and size bytes. It returns ctx's error
// (unwrapped, so errors.Is matches ctx.Err()) if ctx ends first, and
// ErrTooLarge if size exceeds the byte budget. On error nothing is held.
func (w *Window) Acquire(ctx context.Context, size int64) error {
	if size > w.max {
		return ErrTooLarge
	}
	if w.count.TryAcquire(1) {
		if w.bytes.TryAcquire(size) {
			return nil
		}
	} else if err := w.count.Acquire(ctx, 1); err != nil {
		return err
	}
	if err := w.bytes.Acquire(ctx, size); err != nil {
		w.count.Release(1)
		return err
	}
	return nil
}

// Release returns one message slot and size bytes taken by Acquire.
func (w *Window) Release(size int64) {
	w.bytes.Release(size)
	w.count.Release(1)
}
