package stargate

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// ProducerStats is a snapshot of a Producer's counters, from
// Producer.Stats. Counters start at zero when the producer is created and
// only grow, except Pending.
type ProducerStats struct {
	// Sent counts the messages Send admitted (those it refused at once, with
	// an already completed future, are not counted), SentBytes their
	// payload bytes. Resends after a reconnect are not counted again.
	Sent, SentBytes int64
	// Acked counts the sends acknowledged with a MessageID.
	Acked int64
	// Failed counts the sends completed with an error: the server's, a
	// timeout, ErrClosed.
	Failed int64
	// Pending is the sends awaiting their outcome: Sent − Acked − Failed.
	Pending int64
	ConnStats
}

// ConsumerStats is a snapshot of a Consumer's counters, from
// Consumer.Stats.
type ConsumerStats struct {
	// Received counts the messages handed to the range loop,
	// ReceivedBytes their payload bytes.
	Received, ReceivedBytes int64
	// Redelivered counts the received messages whose RedeliveryCount is
	// above zero.
	Redelivered int64
	// Acked and Nacked count the calls of Message.Ack and Message.Nack that
	// returned nil.
	Acked, Nacked int64
	// CryptoFailed counts the messages a consumer with a KeyReader could
	// not decrypt (whatever its CryptoFailureAction), Discarded those of
	// them it acknowledged and dropped (CryptoDiscard).
	CryptoFailed, Discarded int64
	ConnStats
}

// ReaderStats is a snapshot of a Reader's counters, from Reader.Stats.
type ReaderStats struct {
	// Received counts the messages handed to the range loop,
	// ReceivedBytes their payload bytes.
	Received, ReceivedBytes int64
	ConnStats
}

// ConnStats is what every handle's stats say about its connection.
type ConnStats struct {
	// Reconnects counts the connections that replaced a lost one.
	Reconnects int64
	// LastError is the last error the handle met: a lost connection, a
	// failed redial, a failed send or acknowledgement, the terminal error;
	// nil if none (ErrClosed after Close does not count).
	// LastErrorTime is when it happened.
	LastError     error
	LastErrorTime time.Time
}

// connCounters are a link's counters. Every handle updates them with
// atomics only, so that the hot paths take no lock.
type connCounters struct {
	reconnects atomic.Int64
	lastErr    atomic.Pointer[timedError]
}

type timedError struct {
	err error
	at  time.Time
}

// noteError records err as the last error, unless it is ErrClosed.
func (c *connCounters) noteError(err error) {
	if err == nil || errors.Is(err, ErrClosed) {
		return
	}
	c.lastErr.Store(&timedError{err: err, at: time.Now()})
}

func (c *connCounters) snapshot() ConnStats {
	s := ConnStats{Reconnects: c.reconnects.Load()}
	if e := c.lastErr.Load(); e != nil {
		s.LastError, s.LastErrorTime = e.err, e.at
	}
	return s
}

// inCounters are the inbound counters of a Consumer or Reader.
type inCounters struct {
	received, receivedBytes, redelivered, acked, nacked atomic.Int64
	cryptoFailed, discarded                             atomic.Int64
}

// prodCounters are a Producer's counters.
type prodCounters struct {
	sent, sentBytes, acked, failed atomic.Int64
}

// Stats returns a snapshot of the producer's counters. The counters are
// read one after the other while sends go on, so they need not add up
// exactly; Pending is never negative.
func (p *Producer) Stats() ProducerStats {
	s := ProducerStats{Acked: p.stats.acked.Load(), Failed: p.stats.failed.Load()}
	s.Sent, s.SentBytes = p.stats.sent.Load(), p.stats.sentBytes.Load()
	s.Pending = max(0, s.Sent-s.Acked-s.Failed)
	s.ConnStats = p.l.conn.snapshot()
	return s
}

// Stats returns a snapshot of the consumer's counters, read one after the
// other.
func (c *Consumer) Stats() ConsumerStats {
	st := &c.in.stats
	return ConsumerStats{
		Received: st.received.Load(), ReceivedBytes: st.receivedBytes.Load(),
		Redelivered: st.redelivered.Load(),
		Acked:       st.acked.Load(), Nacked: st.nacked.Load(),
		CryptoFailed: st.cryptoFailed.Load(), Discarded: st.discarded.Load(),
		ConnStats: c.l.conn.snapshot(),
	}
}

// Stats returns a snapshot of the reader's counters, read one after the
// other.
func (r *Reader) Stats() ReaderStats {
	st := &r.in.stats
	return ReaderStats{Received: st.received.Load(), ReceivedBytes: st.receivedBytes.Load(), ConnStats: r.l.conn.snapshot()}
}

// got counts m, about to be handed to the loop, and shows it to the
// observer; it runs on the loop's goroutine.
func (in *inbox) got(ctx context.Context, m Message) {
	in.stats.received.Add(1)
	in.stats.receivedBytes.Add(int64(len(m.Payload)))
	if m.RedeliveryCount > 0 {
		in.stats.redelivered.Add(1)
	}
	if o := in.l.obs; o != nil {
		o.Received(ctx, ReceiveEvent{Handle: in.l.info, Message: m})
	}
}

// settled counts an Ack or Nack that returned err and shows it to the
// observer.
func (in *inbox) settled(nack bool, bytes int, err error) {
	switch {
	case err != nil:
		if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			in.l.conn.noteError(err) // not the caller's own ctx, which is all Ack checks it for
		}
	case nack:
		in.stats.nacked.Add(1)
	default:
		in.stats.acked.Add(1)
	}
	if o := in.l.obs; o != nil {
		o.Settled(SettleEvent{Handle: in.l.info, Nack: nack, Bytes: bytes, Err: err})
	}
}

// connEvent records a change of the link's connection and shows it to the
// observer.
// The observer goes first: once Stats show the event, it has seen it.
func (l *link) connEvent(kind ConnEventKind, err error, attempt int) {
	if l.obs != nil {
		l.obs.Connection(ConnEvent{Handle: l.info, Kind: kind, Err: err, Attempt: attempt})
	}
	if kind == ConnReconnected {
		l.conn.reconnects.Add(1)
	}
	l.conn.noteError(err)
}
