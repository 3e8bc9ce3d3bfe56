package stargate

import (
	"context"
	"errors"
	"net"
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
// times and returns the same result each time.
type SendFuture struct {
	mu       sync.Mutex
	done     chan struct{} // made on demand: a future completed before anyone waits never needs one
	complete bool
	id       MessageID
	err      error

	// producer bookkeeping, guarded by the producer's pending lock; msg is
	// cleared when the future leaves the pending set, to let the payload go
	msg      Message
	size     int64
	ctxID    uint64
	deadline int64 // unix nanos after which the client gives up; 0 = never
}

// Done returns a channel that is closed when the future completes, for use
// in select statements.
func (f *SendFuture) Done() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done == nil {
		f.done = make(chan struct{})
		if f.complete {
			close(f.done)
		}
	}
	return f.done
}

// Wait blocks until the future completes and returns the message's ID or
// the error. Wait always returns: every future completes on
// acknowledgement, error, send timeout or Close.
func (f *SendFuture) Wait() (MessageID, error) {
	f.mu.Lock()
	if f.complete {
		defer f.mu.Unlock()
		return f.id, f.err
	}
	if f.done == nil {
		f.done = make(chan struct{})
	}
	done := f.done
	f.mu.Unlock()
	<-done
	return f.id, f.err // written before done was closed
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

// acker is the inbound state of one socket of a consumer or reader, and
// what a delivered Message points to: acknowledgements must go back on the
// socket that delivered the message, with the ID string exactly as received
// (pulsar-websocket-protocol.md §5.4).
type acker struct {
	c *Consumer // nil for a Reader's messages
	s *sock
	// resumed marks a reader socket dialled from Earliest to resume a
	// partitioned topic (see Reader.keep).
	resumed bool

	eotMu      sync.Mutex
	eotWaiters []chan bool // isEndOfTopic queries awaiting their reply, in order
}

// askEndOfTopic sends an isEndOfTopic query; the server answers queries in
// order, and the reply arrives on the returned channel (buffered, so an
// abandoned query never blocks the read goroutine).
func (a *acker) askEndOfTopic() (<-chan bool, error) {
	reply := make(chan bool, 1)
	a.eotMu.Lock()
	defer a.eotMu.Unlock()
	a.eotWaiters = append(a.eotWaiters, reply)
	return reply, a.s.write([]byte(`{"type":"isEndOfTopic"}`))
}

// answerEndOfTopic hands a reply to the oldest waiting query.
func (a *acker) answerEndOfTopic(v bool) {
	a.eotMu.Lock()
	var w chan bool
	if len(a.eotWaiters) > 0 {
		w = a.eotWaiters[0]
		a.eotWaiters = a.eotWaiters[1:]
	}
	a.eotMu.Unlock()
	if w != nil {
		w <- v
	}
}

// Ack acknowledges the message to the consumer that delivered it, on the
// connection that delivered it. It is safe from any goroutine, also after
// the loop body that got the message has returned. Ack returns ctx's error
// if ctx is already done; the write itself only queues the frame, and waits
// (at most the connection's write timeout) only while the socket is backed
// up.
//
// Ack returns ErrInvalidMessage for a message not delivered by a Consumer
// (the zero Message, a hand-built one, or one from a Reader, whose flow
// control is automatic) and ErrClosed after the consumer was closed. If the
// connection that delivered the message is lost or being lost, Ack returns
// nil: the broker redelivers the message to the subscription (a durable
// one; see ConsumerOptions.Mode), so acknowledgements are at-least-once and
// a loop that returns on an Ack error does not stop because of a
// reconnect.
func (m Message) Ack(ctx context.Context) error {
	return m.settle(ctx, false)
}

// Nack asks for the message to be redelivered after the consumer's
// NackRedeliveryDelay, with its RedeliveryCount incremented. It follows the
// rules of Ack.
func (m Message) Nack(ctx context.Context) error {
	return m.settle(ctx, true)
}

func (m Message) settle(ctx context.Context, nack bool) error {
	a := m.ack
	if a == nil || a.c == nil || m.ID.wire == "" {
		return ErrInvalidMessage
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if a.c.l.isClosing() {
		return ErrClosed
	}
	var buf [160]byte
	b := buf[:0]
	if nack {
		b = append(b, `{"type":"negativeAcknowledge","messageId":`...)
	} else {
		b = append(b, `{"messageId":`...)
	}
	b = appendJSONString(b, m.ID.wire)
	b = append(b, '}')
	if err := a.s.write(b); err != nil {
		if a.c.l.isClosing() {
			return ErrClosed
		}
		if errors.Is(err, net.ErrClosed) || a.s.dead() {
			return nil // the connection is dead or dying; the broker redelivers
		}
		return err
	}
	return nil
}
