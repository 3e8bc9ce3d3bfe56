package stargate

import (
	"context"
	"errors"
	"net"
	"sync"
)

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
