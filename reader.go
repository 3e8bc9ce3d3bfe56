package stargate

import (
	"context"
	"errors"
	"iter"
	"net/url"
	"strings"
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
// the last message it received, keeping what it had received but not yet
// yielded, so the loop sees neither a gap nor a repeat. Two cases are
// weaker, because of what the server accepts as a start position:
//
//   - A reader that started at Latest and has received nothing yet resumes
//     at Latest: messages published while it was disconnected, before its
//     first message, are not seen (Pulsar's own clients behave the same).
//   - On a partitioned topic the server takes only Earliest or Latest, so a
//     reader that has received messages resumes from Earliest and skips,
//     partition by partition, what it has already yielded (and, if it
//     started at Latest, what was published before it was opened, judged by
//     the message's PublishTime against the client's clock). Such a
//     reconnect re-reads the topic's retained messages.
type Reader struct {
	opts   ReaderOptions
	params url.Values
	l      *link
	in     *inbox
	seq    sequence

	mu          sync.Mutex
	window      int                 // the server's window: receiverQueueSize
	opened      time.Time           // before the first dial; the Latest boundary
	partitioned bool                // messages carry a partition of the reader's topic
	recv, prev  MessageID           // the last two messages received (not partitioned); a reconnect resumes after prev
	yielded     map[int32]MessageID // the last message yielded, per partition: repeats are dropped
	resumeEarly bool                // the socket being dialled resumes a partitioned topic from Earliest
	ended       bool                // the sequence reached the end of a terminated topic
}

// eotProbe is how long a StopAtEndOfTopic reader waits without a message
// before asking the server whether the topic has ended.
const eotProbe = 250 * time.Millisecond

// NewReader opens a reader on topic (any form ParseTopic accepts),
// positioned by opts.Start (Earliest or Latest), opts.StartMessageID (the
// first message yielded is the one after it) or opts.StartTime (the first
// message yielded is the first published at or after it). ctx bounds the
// connection attempt, and StartTime's admin calls; opts may be nil.
func (c *Client) NewReader(ctx context.Context, topic string, opts *ReaderOptions) (*Reader, error) {
	t, err := ParseTopic(topic)
	if err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	if !o.StartTime.IsZero() {
		if o.StartMessageID, err = c.startAtTime(ctx, t, o); err != nil {
			return nil, err
		}
	}
	q, err := o.query()
	if err != nil {
		return nil, err
	}
	window := o.window()
	r := &Reader{opts: o, params: q, window: window, opened: time.Now(), yielded: make(map[int32]MessageID)}
	r.in = newInbox(window, t, r.received)
	r.seq.take = r.take
	r.l = c.newLink("/ws/v2/reader/"+t.path(), r)
	r.in.l = r.l
	if err := r.l.start(ctx); err != nil {
		var ce *ConnectError
		if errors.As(err, &ce) && strings.Contains(ce.Message, "startMessageId is illegal") {
			return nil, argErr("ReaderOptions.StartMessageID", o.StartMessageID.String(),
				"a partitioned topic can be read only from Earliest or Latest; the server refused: "+ce.Message)
		}
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
	return r.seq.messages(ctx)
}

// Batches is Messages grouped into slices of at most size messages, as
// Consumer.Batches.
func (r *Reader) Batches(ctx context.Context, size int, wait time.Duration) iter.Seq2[[]Message, error] {
	return r.seq.batches(ctx, size, wait)
}

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
		m, err := r.in.next(ctx, idle)
		if err == errIdle {
			eot, err := r.in.isEndOfTopic(ctx)
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
		from := m.from
		m.from = nil // a reader's messages are not acknowledged by the user
		r.flow(from.s, m.ID)
		if r.fresh(m, from.resumed) {
			r.in.got(ctx, m)
			return m, nil
		}
	}
}

// fresh reports whether m is yielded for the first time, and records it.
// Messages kept from a lost socket are yielded before those of the socket
// that resumed after them, so a message received twice is always dropped
// the second time.
func (r *Reader) fresh(m Message, resumed bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	last, seen := r.yielded[m.ID.Partition]
	switch {
	case seen && m.ID.Compare(last) <= 0:
		return false
	case !seen && resumed && r.startsLatest() && m.PublishTime.Before(r.opened):
		// A partition that had yielded nothing, re-read from Earliest: what
		// was published before the reader opened is not after Latest.
		return false
	}
	r.yielded[m.ID.Partition] = m.ID
	return true
}

func (r *Reader) startsLatest() bool {
	return r.opts.StartMessageID.IsZero() && r.opts.Start == Latest
}

// flow sends the acknowledgement that frees one slot of the server's
// window (pulsar-websocket-protocol.md §5.3).
func (r *Reader) flow(s *sock, id MessageID) {
	var buf [160]byte
	b := append(buf[:0], `{"messageId":`...)
	b = id.appendWire(b)
	b = append(b, '}')
	_ = s.write(b) // a lost socket needs no flow control
}

// IsEndOfTopic reports whether the topic has been terminated and the reader
// has received every message in it.
func (r *Reader) IsEndOfTopic(ctx context.Context) (bool, error) {
	return r.in.isEndOfTopic(ctx)
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
	defer r.mu.Unlock()
	r.resumeEarly = false
	switch {
	case r.partitioned:
		// The server refuses any other position on a partitioned topic.
		q.Set("messageId", "earliest")
		r.resumeEarly = true
	case !r.prev.IsZero():
		// One message early: the server sends recv again (fresh drops it).
		// Pulsar 4.0.8 never reports the end of a terminated topic to a
		// reader opened right after its last message, so a reader must not
		// resume exactly there.
		q.Set("messageId", r.prev.String())
	case !r.recv.IsZero():
		q.Set("messageId", r.recv.String())
	}
	// Given a start message ID, the broker dispatches the start entry and
	// the server's Java reader drops it (the start is exclusive) without
	// returning its permit: with receiverQueueSize=1 that was the only one,
	// and the socket never delivers anything (Pulsar 4.0.8). A window of 2
	// loses the same permit and goes on with one.
	if q.Get("receiverQueueSize") == "1" {
		if id := q.Get("messageId"); id != "" && id != "earliest" && id != "latest" {
			q.Set("receiverQueueSize", "2")
		}
	}
	return q
}

func (r *Reader) prepare(s *sock) receiver {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.in.attach(s, r.resumeEarly)
}

// received records where a reconnect must resume; it runs on the read
// goroutine for every message before it is queued.
func (r *Reader) received(m *Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.ID.Partition >= 0 && !isPartitionName(r.in.topic.Name) {
		r.partitioned = true
	}
	if !r.partitioned && (r.recv.IsZero() || m.ID.Compare(r.recv) > 0) {
		r.prev, r.recv = r.recv, m.ID
	}
}

// lost keeps what was received for the loop, and the next socket resumes
// after it. At most one window is kept, so that reconnects while the loop
// is not ranging cannot pile up windows; a partitioned topic is re-read
// from Earliest anyway, so nothing is kept there.
func (r *Reader) lost(*sock, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.partitioned {
		r.in.drain()
		return
	}
	if last, before, ok := r.in.keepFirst(r.window); ok {
		r.prev, r.recv = before.ID, last.ID
	}
}

func (r *Reader) connected(*sock) {}
func (r *Reader) failed(error)    {}
func (r *Reader) tick(time.Time)  {}
