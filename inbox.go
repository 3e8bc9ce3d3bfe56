package stargate

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// inbox is the inbound half shared by Consumer and Reader: the queue that
// the socket's read goroutine fills and the range loop empties, the one-
// range-at-a-time guard, and the isEndOfTopic query.
//
// The read goroutine never blocks on the queue: a blocked read goroutine
// would stop reading pongs and replies, and would not notice a lost
// connection. The server's window (receiverQueueSize, or the pull permits)
// bounds what arrives; should a server send far beyond it, the connection
// is dropped (limit) instead of letting memory grow.
type inbox struct {
	l       *link
	topic   Topic // zero for v3 multi-topic consumers
	ranging atomic.Bool

	mu    sync.Mutex
	queue []Message // FIFO; queue[head:] are waiting
	head  int
	limit int           // most messages held before the connection is dropped
	wake  chan struct{} // one-slot: signalled when a message is queued
}

func newInbox(window int, topic Topic) inbox {
	// A push window is freed by every ack, so a message acked twice (or
	// acked and nacked) lets the server send one more: allow generous slack.
	return inbox{topic: topic, limit: 2*window + 64, wake: make(chan struct{}, 1)}
}

// errInboxOverflow drops a connection whose server sent far more than the
// window it was given.
var errInboxOverflow = errors.New("stargate: server sent more messages than the receive window allows")

// deliver handles one frame from s on its read goroutine: a message goes to
// the queue, an isEndOfTopic reply to its waiter. note, if not nil, sees
// every message before it is queued. A frame that cannot be decoded ends the handle with a
// *ProtocolError: dropping it would silently lose a message (and, in pull
// mode, a permit).
func (in *inbox) deliver(s *sock, data []byte, a *acker, note func(*Message)) {
	m, eot, err := decodeInbound(data, in.topic)
	if err != nil {
		if errors.Is(err, errUnknownFrame) {
			in.l.client.logger().Warn("stargate: skipping unknown frame", "path", in.l.path, "frame", truncate(data))
			return
		}
		in.l.fail(err)
		return
	}
	if eot != nil {
		a.answerEndOfTopic(*eot)
		return
	}
	if m.ID.Partition >= 0 && !m.Topic.IsZero() && !isPartitionName(m.Topic.Name) {
		m.Topic.Name = partitionName(m.Topic.Name, m.ID.Partition)
	}
	m.ack = a
	if note != nil {
		note(&m)
	}
	in.mu.Lock()
	n := len(in.queue) - in.head
	if n < in.limit {
		in.queue = append(in.queue, m)
	}
	in.mu.Unlock()
	if n >= in.limit {
		in.l.client.logger().Warn("stargate: dropping connection", "path", in.l.path, "err", errInboxOverflow)
		in.l.drop(s)
		return
	}
	select {
	case in.wake <- struct{}{}:
	default:
	}
}

// pop returns the oldest queued message, if any.
func (in *inbox) pop() (Message, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.head == len(in.queue) {
		return Message{}, false
	}
	m := in.queue[in.head]
	in.queue[in.head] = Message{}
	in.head++
	if in.head == len(in.queue) {
		in.queue, in.head = in.queue[:0], 0
	} else if in.head >= 1024 && in.head*2 >= len(in.queue) {
		in.queue = append(in.queue[:0], in.queue[in.head:]...)
		in.head = 0
	}
	return m, true
}

// drain drops every queued message: a consumer calls it when their socket
// is lost, since the broker redelivers what was not acknowledged.
func (in *inbox) drain() {
	in.mu.Lock()
	clear(in.queue)
	in.queue, in.head = in.queue[:0], 0
	in.mu.Unlock()
}

// keepFirst drops all but the first n (≥ 1) queued messages and returns
// the last one kept and the one before it (zero if there is none); ok is
// false if nothing was dropped.
func (in *inbox) keepFirst(n int) (last, before Message, ok bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.queue)-in.head <= n {
		return Message{}, Message{}, false
	}
	clear(in.queue[in.head+n:])
	in.queue = in.queue[:in.head+n]
	if n > 1 {
		before = in.queue[len(in.queue)-2]
	}
	return in.queue[len(in.queue)-1], before, true
}

// end returns the terminal error once the link has ended, else nil.
func (in *inbox) end() error {
	select {
	case <-in.l.done:
		if in.l.err != nil {
			return in.l.err
		}
		return ErrClosed
	default:
		return nil
	}
}

// next waits for the next message. It returns a terminal error, ctx's
// error, or, with idle > 0, errIdle after idle without a message.
func (in *inbox) next(ctx context.Context, idle time.Duration) (Message, error) {
	var timeout <-chan time.Time
	for {
		if err := in.end(); err != nil {
			return Message{}, err
		}
		if m, ok := in.pop(); ok {
			return m, nil
		}
		if idle > 0 && timeout == nil {
			t := time.NewTimer(idle)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-in.wake:
		case <-in.l.done:
		case <-ctx.Done():
			return Message{}, ctx.Err()
		case <-timeout:
			return Message{}, errIdle
		}
	}
}

// errIdle is next's internal signal that no message came within idle.
var errIdle = errors.New("stargate: idle")

// isEndOfTopic asks the server whether the topic is terminated and read to
// its end. A query cut short by a lost connection is asked again on the
// next one.
func (in *inbox) isEndOfTopic(ctx context.Context) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s := in.l.current()
	for {
		if err := in.end(); err != nil {
			return false, err
		}
		if reply, err := s.acker().askEndOfTopic(); err == nil {
			select {
			case v := <-reply:
				return v, nil
			case <-s.conn.Done():
			case <-in.l.done:
				return false, in.end()
			case <-ctx.Done():
				return false, ctx.Err()
			}
		}
		ns, err := in.l.next(ctx, s)
		if ns == nil {
			return false, orClosed(err)
		}
		s = ns
	}
}

func orClosed(err error) error {
	if err == nil {
		return ErrClosed
	}
	return err
}

func partitionName(base string, partition int32) string {
	return base + partitionSuffix + strconv.Itoa(int(partition))
}
