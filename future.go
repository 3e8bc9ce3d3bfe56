package stargate

import (
	"context"
	"errors"
	"sync"
)

// SendFuture is the outcome of one Producer.Send. It completes exactly once:
// with the MessageID the broker assigned, with the server's *SendError, with
// ErrSendTimeout, with an error matching ErrTopicTerminated once the topic
// was terminated, with the 1009 *CloseError when the server refused a frame
// as too large (see ProducerOptions.MaxFrameSize), or with ErrClosed when
// the producer is closed first. A Send refused at admission (an *ArgError,
// ctx's error) returns an already completed future.
//
// Its methods are safe for concurrent use; Wait may be called any number of
// times and returns the same result each time it finds the future complete.
type SendFuture struct {
	mu       sync.Mutex
	done     chan struct{} // made on demand: a future completed before anyone waits never needs one
	complete bool
	id       MessageID
	err      error
}

// Done returns a channel that is closed when the future completes, for use
// in select statements.
func (f *SendFuture) Done() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.doneLocked()
}

func (f *SendFuture) doneLocked() chan struct{} {
	if f.done == nil {
		f.done = make(chan struct{})
		if f.complete {
			close(f.done)
		}
	}
	return f.done
}

// Wait blocks until the future completes, or ctx is done, and returns the
// message's ID or the error. A future that has completed returns its result
// even when ctx is done too; otherwise a done ctx returns ctx's error and
// leaves the send going on (Wait may be called again). With a ctx that is
// never done, Wait still returns: every future completes on
// acknowledgement, error, send timeout or Close.
func (f *SendFuture) Wait(ctx context.Context) (MessageID, error) {
	if err := f.await(ctx); err != nil {
		return MessageID{}, err
	}
	return f.id, f.err // written before complete was set, read after it
}

// await returns nil once the future is complete, or ctx's error if ctx is
// done first; a complete future wins over a done ctx.
func (f *SendFuture) await(ctx context.Context) error {
	f.mu.Lock()
	if f.complete {
		f.mu.Unlock()
		return nil
	}
	done := f.doneLocked()
	f.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		select {
		case <-done: // both ready: the result wins
			return nil
		default:
			return ctx.Err()
		}
	}
}

// finish completes the future; it reports false if it was already complete.
func (f *SendFuture) finish(id MessageID, err error) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.complete {
		return false
	}
	f.id, f.err, f.complete = id, err, true
	if f.done != nil {
		close(f.done)
	}
	return true
}

// failedFuture returns an already completed future.
func failedFuture(err error) *SendFuture {
	return &SendFuture{complete: true, err: err}
}

// pendingSend is the producer's record of one send awaiting its
// acknowledgement, guarded by the producer's pending lock. It embeds the
// future that Send hands out, so that a send costs one allocation for both;
// the future itself holds only the result.
type pendingSend struct {
	SendFuture
	msg      Message // cleared when the send leaves the pending set, to let the payload go
	size     int64   // its share of the in-flight window
	ctxID    uint64
	deadline int64 // unix nanos after which the client gives up; 0 until the producer's next tick sets it
}

// chanLock is a mutex whose Lock can give up: a one-slot channel, as in
// coder/websocket's connection lock, so that waiting for it honours a
// context and the owner's end.
type chanLock chan struct{}

func newChanLock() chanLock { return make(chanLock, 1) }

// lock takes the lock; it returns ctx's error if ctx is done first, or
// errEnded if ended is closed first.
func (l chanLock) lock(ctx context.Context, ended <-chan struct{}) error {
	select {
	case l <- struct{}{}: // the uncontended case, without the cost of a three-way select
		return nil
	default:
	}
	select {
	case l <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-ended:
		return errEnded
	}
}

func (l chanLock) unlock() { <-l }

// errEnded is chanLock.lock's signal that its owner ended; callers replace
// it with the owner's own error.
var errEnded = errors.New("stargate: ended")
