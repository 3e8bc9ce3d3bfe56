package stargate

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"time"
)

// inbox is the inbound half shared by Consumer and Reader: the queue that
// the socket's read goroutine fills and the range loop empties, the one-
// range-at-a-time guard, and the isEndOfTopic query.
type inbox struct {
	l       *link
	topic   Topic // zero for v3 multi-topic consumers
	ch      chan Message
	ranging atomic.Bool
}

func newInbox(size int, topic Topic) inbox {
	return inbox{ch: make(chan Message, size), topic: topic}
}

// deliver handles one frame from s on its read goroutine: a message goes to
// the queue (waiting while the queue is full, which stops reading the socket
// and so pushes back on the server), an isEndOfTopic reply to its waiter.
func (in *inbox) deliver(s *sock, data []byte, ack *acker) {
	m, eot, err := decodeInbound(data, in.topic)
	if err != nil {
		in.l.client.logger().Warn("stargate: skipping frame", "path", in.l.path, "err", err)
		return
	}
	if eot != nil {
		s.eotMu.Lock()
		var w chan bool
		if len(s.eotWaiters) > 0 {
			w = s.eotWaiters[0]
			s.eotWaiters = s.eotWaiters[1:]
		}
		s.eotMu.Unlock()
		if w != nil {
			w <- *eot
		}
		return
	}
	if m.ID.Partition >= 0 && !m.Topic.IsZero() {
		m.Topic.Name = partitionName(m.Topic.Name, m.ID.Partition)
	}
	m.ack = ack
	select {
	case in.ch <- m:
	case <-in.l.closing:
	case <-s.conn.Done():
	}
}

// drain drops every queued message: called when their socket is lost, since
// the broker redelivers (consumer) or the reader resumes after the last
// message it yielded.
func (in *inbox) drain() {
	for {
		select {
		case <-in.ch:
		default:
			return
		}
	}
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
	if err := in.end(); err != nil {
		return Message{}, err
	}
	var timeout <-chan time.Time
	if idle > 0 {
		t := time.NewTimer(idle)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case m := <-in.ch:
		return m, nil
	case <-in.l.done:
		return Message{}, in.end()
	case <-ctx.Done():
		return Message{}, ctx.Err()
	case <-timeout:
		return Message{}, errIdle
	}
}

// errIdle is next's internal signal that no message came within idle.
var errIdle = errors.New("stargate: idle")

// isEndOfTopic asks the server whether the topic is terminated and read to
// its end. A query cut short by a lost connection is asked again on the
// next one.
func (in *inbox) isEndOfTopic(ctx context.Context) (bool, error) {
	s := in.l.current()
	for {
		if err := in.end(); err != nil {
			return false, err
		}
		if reply, err := s.askEndOfTopic(); err == nil {
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
	return base + "-partition-" + strconv.Itoa(int(partition))
}
