package stargate

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"
)

// inbox is the inbound side of a Consumer or Reader, and owns all of its
// per-connection state. For every socket the link dials, attach makes the
// socket's inConn, which receives its frames on the read goroutine: deliver
// decodes each one (a frame it cannot decode ends the handle) and queues
// the message, or answers an isEndOfTopic query. The range loop takes from
// the queue with next. Each message points to the inConn that delivered
// it, the target of its Ack.
//
// The read goroutine never blocks on the queue: a blocked read goroutine
// would stop reading pongs and replies, and would not notice a lost
// connection. The server's window (receiverQueueSize, or the pull permits)
// bounds what arrives; should a server send far beyond it, the connection
// is dropped (limit) instead of letting memory grow.
type inbox struct {
	l     *link
	topic Topic          // zero for v3 multi-topic consumers
	note  func(*Message) // if not nil, sees every message before it is queued, on the read goroutine

	mu    sync.Mutex
	queue []Message // FIFO; queue[head:] are waiting
	head  int
	limit int           // most messages held before the connection is dropped
	wake  chan struct{} // one-slot: signalled when a message is queued

	stats inCounters
}

func newInbox(window int, topic Topic, note func(*Message)) *inbox {
	// A push window is freed by every ack, so a message acked twice (or
	// acked and nacked) lets the server send one more: allow generous slack.
	return &inbox{topic: topic, note: note, limit: 2*window + 64, wake: make(chan struct{}, 1)}
}

// inConn is the inbound state of one connection. A delivered Message
// points to it: acknowledgements must go back on the socket that delivered
// the message, with the ID string exactly as received
// (pulsar-websocket-protocol.md §5.4). It also holds the isEndOfTopic
// queries awaiting their reply on that socket.
type inConn struct {
	in *inbox
	s  *sock
	// resumed marks a reader socket dialled from Earliest to resume a
	// partitioned topic (see Reader.fresh).
	resumed bool

	eotMu      sync.Mutex
	eotWaiters []chan bool // isEndOfTopic queries awaiting their reply, in order
}

// attach returns the inbound state of the new socket s, which receives its
// frames; the handle's prepare returns it to the link.
func (in *inbox) attach(s *sock, resumed bool) *inConn {
	return &inConn{in: in, s: s, resumed: resumed}
}

// conn returns the inbound state of one of the inbox's sockets.
func (in *inbox) conn(s *sock) *inConn { return s.recv.(*inConn) }

// onMessage hands one frame of c's socket to the inbox.
func (c *inConn) onMessage(data []byte) { c.in.deliver(c, data) }

// errInboxOverflow drops a connection whose server sent far more than the
// window it was given.
var errInboxOverflow = errors.New("stargate: server sent more messages than the receive window allows")

// deliver handles one frame from c on its read goroutine: a message goes
// to the queue, an isEndOfTopic reply to its waiter. A frame that cannot be
// decoded ends the handle with a *ProtocolError: dropping it would silently
// lose a message (and, in pull mode, a permit).
func (in *inbox) deliver(c *inConn, data []byte) {
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
		c.answerEndOfTopic(*eot)
		return
	}
	if m.ID.Partition >= 0 && !m.Topic.IsZero() && !isPartitionName(m.Topic.Name) {
		m.Topic.Name = partitionName(m.Topic.Name, m.ID.Partition)
	}
	m.from = c
	if in.note != nil {
		// A copy, declared here: note's pointer would move m to the heap,
		// an allocation per message also without an Observer.
		n := m
		in.note(&n)
		m = n
	}
	if !in.push(m) {
		in.l.client.logger().Warn("stargate: dropping connection", "path", in.l.path, "err", errInboxOverflow)
		in.l.drop(c.s)
	}
}

// push queues m and wakes the range loop; it reports false, queueing
// nothing, once limit messages are waiting.
func (in *inbox) push(m Message) bool {
	in.mu.Lock()
	ok := len(in.queue)-in.head < in.limit
	if ok {
		in.queue = append(in.queue, m)
	}
	in.mu.Unlock()
	if ok {
		select {
		case in.wake <- struct{}{}:
		default:
		}
	}
	return ok
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

// next waits for the next message. It returns the link's terminal error
// (ErrClosed after Close), ctx's error, or, with idle > 0, errIdle after
// idle without a message.
func (in *inbox) next(ctx context.Context, idle time.Duration) (Message, error) {
	var timeout <-chan time.Time
	for {
		if err := in.l.ended(); err != nil {
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
		case <-in.l.finished():
		case <-ctx.Done():
			return Message{}, ctx.Err()
		case <-timeout:
			return Message{}, errIdle
		}
	}
}

// errIdle is next's internal signal that no message came within idle.
var errIdle = errors.New("stargate: idle")

// askEndOfTopic sends an isEndOfTopic query on c's socket; the server
// answers queries in order, and the reply arrives on the returned channel
// (buffered, so an abandoned query never blocks the read goroutine).
func (c *inConn) askEndOfTopic() (<-chan bool, error) {
	reply := make(chan bool, 1)
	c.eotMu.Lock()
	defer c.eotMu.Unlock()
	c.eotWaiters = append(c.eotWaiters, reply)
	return reply, c.s.write([]byte(`{"type":"isEndOfTopic"}`))
}

// answerEndOfTopic hands a reply to the oldest waiting query.
func (c *inConn) answerEndOfTopic(v bool) {
	c.eotMu.Lock()
	var w chan bool
	if len(c.eotWaiters) > 0 {
		w = c.eotWaiters[0]
		c.eotWaiters = c.eotWaiters[1:]
	}
	c.eotMu.Unlock()
	if w != nil {
		w <- v
	}
}

// isEndOfTopic asks the server whether the topic is terminated and read to
// its end. A query cut short by a lost connection is asked again on the
// next one.
func (in *inbox) isEndOfTopic(ctx context.Context) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s := in.l.current()
	for {
		if err := in.l.ended(); err != nil {
			return false, err
		}
		if reply, err := in.conn(s).askEndOfTopic(); err == nil {
			select {
			case v := <-reply:
				return v, nil
			case <-s.conn.Done():
			case <-in.l.finished():
				return false, in.l.ended()
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
