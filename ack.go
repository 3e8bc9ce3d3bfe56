package stargate

import (
	"context"
	"errors"
	"net"
)

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
	if m.batch != nil {
		err := m.batch.settle(ctx, nack)
		m.batch.ack.from.in.settled(nack, len(m.Payload), err)
		return err
	}
	if m.from == nil || m.ID.wire == "" {
		return ErrInvalidMessage
	}
	err := m.from.settle(ctx, m.ID.wire, nack)
	m.from.in.settled(nack, len(m.Payload), err)
	return err
}

// settle acknowledges (or with nack, negatively acknowledges) the message
// whose wire ID is given on c's socket, the one that delivered it.
func (c *inConn) settle(ctx context.Context, wire string, nack bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.in.l.isClosing() {
		return ErrClosed
	}
	var buf [160]byte
	b := buf[:0]
	if nack {
		b = append(b, `{"type":"negativeAcknowledge","messageId":`...)
	} else {
		b = append(b, `{"messageId":`...)
	}
	b = appendJSONString(b, wire)
	b = append(b, '}')
	if err := c.s.write(b); err != nil {
		if c.in.l.isClosing() {
			return ErrClosed
		}
		if errors.Is(err, net.ErrClosed) || c.s.dead() {
			return nil // the connection is dead or dying; the broker redelivers
		}
		return err
	}
	return nil
}
