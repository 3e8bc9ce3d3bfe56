package stargate

import (
	"context"
	"errors"
	"iter"
	"net/url"
	"sync"
	"time"
)

// Reader reads a topic from a chosen position without a subscription of
// its own: nothing is acknowledged and nothing is retained for it. The
// reader sends the server's flow-control acknowledgements itself.
//
// Only one Messages sequence may be ranged at a time; the other methods
// are safe for concurrent use.
//
// If the connection is lost, the reader reconnects and resumes right after
// the last message it yielded, so the loop sees neither a gap nor a repeat.
type Reader struct {
	client *Client
	opts   ReaderOptions
	params url.Values
	l      *link
	inbox

	mu    sync.Mutex
	last  MessageID // the last message yielded; where a reconnect resumes
	ended bool      // the sequence reached the end of a terminated topic
}

// eotProbe is how long a StopAtEndOfTopic reader waits without a message
// before asking the server whether the topic has ended.
const eotProbe = 250 * time.Millisecond

// NewReader opens a reader on topic (any form ParseTopic accepts),
// positioned by opts.StartMessageID: the first message yielded is the one
// after it. ctx bounds the connection attempt only; opts may be nil.
func (c *Client) NewReader(ctx context.Context, topic string, opts *ReaderOptions) (*Reader, error) {
	t, err := ParseTopic(topic)
	if err != nil {
		return nil, err
	}
	var o ReaderOptions
	if opts != nil {
		o = *opts
	}
	q, err := o.query()
	if err != nil {
		return nil, err
	}
	size := o.ReceiverQueueSize
	if size == 0 {
		size = maxReceiverQueue
	}
	r := &Reader{client: c, opts: o, params: q, inbox: newInbox(size+1, t)}
	r.l = c.newLink("/ws/v2/reader/"+t.path(), r)
	r.inbox.l = r.l
	if err := r.l.start(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// Messages returns a single-use iterator over the topic's messages from
// the start position on, with the contract of Consumer.Messages: at most
// one of msg and err is non-zero, a non-nil err is the last pair (ctx's
// error, ErrClosed, or the failure the reader could not recover from), and
// breaking out then ranging again resumes. With
// ReaderOptions.StopAtEndOfTopic the sequence ends without an error once
// the topic is terminated and read to its end; ranging again then yields
// nothing. Messages from a reader need no Ack (it returns
// ErrInvalidMessage).
func (r *Reader) Messages(ctx context.Context) iter.Seq2[Message, error] {
	return func(yield func(Message, error) bool) {
		if !r.ranging.CompareAndSwap(false, true) {
			yield(Message{}, ErrConcurrentIteration)
			return
		}
		defer r.ranging.Store(false)
		for {
			m, err := r.take(ctx)
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

// errEndOfTopic ends a StopAtEndOfTopic sequence; it is never yielded.
var errEndOfTopic = errors.New("stargate: end of topic")

// take returns the next message not yet yielded and sends its
// flow-control acknowledgement.
func (r *Reader) take(ctx context.Context) (Message, error) {
	var idle time.Duration
	if r.opts.StopAtEndOfTopic {
		idle = eotProbe
	}
	quiet := 0 // consecutive probes that found the topic ended
	for {
		r.mu.Lock()
		ended := r.ended
		r.mu.Unlock()
		if ended {
			return Message{}, errEndOfTopic
		}
		m, err := r.next(ctx, idle)
		if err == errIdle {
			eot, err := r.isEndOfTopic(ctx)
			if err != nil {
				return Message{}, err
			}
			if !eot {
				quiet = 0
				continue
			}
			// The server says "ended" once the broker has dispatched the last
			// entry, which may still sit in its queue for us: confirm after
			// another quiet probe.
			if quiet++; quiet >= 2 {
				r.mu.Lock()
				r.ended = true
				r.mu.Unlock()
			}
			continue
		}
		if err != nil {
			return Message{}, err
		}
		quiet = 0
		s := m.ack.s
		m.ack = nil
		r.flow(s, m.ID)
		r.mu.Lock()
		dup := !r.last.IsZero() && m.ID.Partition == r.last.Partition && m.ID.Compare(r.last) <= 0
		if !dup {
			r.last = m.ID
		}
		r.mu.Unlock()
		if !dup {
			return m, nil
		}
	}
}

// flow sends the acknowledgement that frees one slot of the server's
// window (pulsar-websocket-protocol.md §5.3).
func (r *Reader) flow(s *sock, id MessageID) {
	var buf [160]byte
	b := append(buf[:0], `{"messageId":`...)
	b = appendJSONString(b, id.wire)
	b = append(b, '}')
	_ = s.write(b) // a lost socket needs no flow control
}

// IsEndOfTopic reports whether the topic has been terminated and the reader
// has received every message in it.
func (r *Reader) IsEndOfTopic(ctx context.Context) (bool, error) {
	return r.isEndOfTopic(ctx)
}

// Close closes the connection; a range in progress ends with ErrClosed.
// Close is idempotent, safe from any goroutine and bounded in time; it
// returns nil.
func (r *Reader) Close() error {
	r.l.close()
	return nil
}

// endpoint implementation.

func (r *Reader) query() url.Values {
	q := cloneValues(r.params)
	r.mu.Lock()
	if !r.last.IsZero() {
		q.Set("messageId", r.last.String())
	}
	r.mu.Unlock()
	return q
}

func (r *Reader) onMessage(s *sock, data []byte) {
	if s.ack == nil {
		s.ack = &acker{s: s}
	}
	r.deliver(s, data, s.ack)
}

func (r *Reader) connected(*sock)   {}
func (r *Reader) lost(*sock, error) { r.drain() }
func (r *Reader) failed(error)      {}
func (r *Reader) tick(time.Time)    {}
