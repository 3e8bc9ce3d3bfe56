package stargate

import (
	"context"
	"errors"
	"iter"
	"sync/atomic"
	"time"
)

// sequence builds the iterators of a Consumer or Reader from one take
// function, so that Messages and Batches of both handles share one
// contract: only one range at a time (another one yields
// ErrConcurrentIteration and steals nothing); at most one of msg and err is
// non-zero; a non-nil err is the last pair yielded, except errEndOfTopic,
// which ends the sequence without an error; break only stops taking.
type sequence struct {
	ranging atomic.Bool
	// take returns the next message for the loop, with whatever demand
	// taking it implies (a consumer's permits, a reader's flow control).
	take func(ctx context.Context) (Message, error)
}

// active reports whether a range is in progress.
func (q *sequence) active() bool { return q.ranging.Load() }

// messages is the sequence of taken messages.
func (q *sequence) messages(ctx context.Context) iter.Seq2[Message, error] {
	return func(yield func(Message, error) bool) {
		if !q.ranging.CompareAndSwap(false, true) {
			yield(Message{}, ErrConcurrentIteration)
			return
		}
		defer q.ranging.Store(false)
		for {
			m, err := q.take(ctx)
			if err != nil {
				if err != errEndOfTopic {
					yield(Message{}, err)
				}
				return
			}
			if !yield(m, nil) {
				return
			}
		}
	}
}

// errEndOfTopic ends a StopAtEndOfTopic reader's sequence; it is never
// yielded.
var errEndOfTopic = errors.New("stargate: end of topic")

// batchPrealloc caps the capacity a batch starts with; larger batches grow
// as messages arrive.
const batchPrealloc = 1024

// batches groups taken messages into slices of at most size messages,
// yielding a batch when it is full or wait after its first message.
func (q *sequence) batches(ctx context.Context, size int, wait time.Duration) iter.Seq2[[]Message, error] {
	return func(yield func([]Message, error) bool) {
		if size < 1 || wait <= 0 {
			yield(nil, argErr("batch", "", "size must be at least 1 and wait positive"))
			return
		}
		if !q.ranging.CompareAndSwap(false, true) {
			yield(nil, ErrConcurrentIteration)
			return
		}
		defer q.ranging.Store(false)
		for {
			batch, err := q.batch(ctx, size, wait)
			if len(batch) > 0 && !yield(batch, nil) {
				return
			}
			if err != nil {
				if err != errEndOfTopic {
					yield(nil, err)
				}
				return
			}
		}
	}
}

// batch takes a first message (as long as ctx allows) and then more until
// the batch is full or wait has passed. An error that ends the sequence
// comes with the messages taken before it.
func (q *sequence) batch(ctx context.Context, size int, wait time.Duration) ([]Message, error) {
	first, err := q.take(ctx)
	if err != nil {
		return nil, err
	}
	// size bounds the batch; only what arrives is allocated (a size of a
	// billion must not reserve a billion messages).
	batch := append(make([]Message, 0, min(size, batchPrealloc)), first)
	bctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for len(batch) < size {
		m, err := q.take(bctx)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				break // the batch's time is up
			}
			return batch, err
		}
		batch = append(batch, m)
	}
	return batch, nil
}
