package stargate

import (
	"cmp"
	"context"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/stargate-go/stargate/internal/backpressure"
)

// Producer sends messages to one topic over one WebSocket connection.
// Its methods are safe for concurrent use.
//
// Send returns at once with a SendFuture; the producer keeps at most
// ProducerOptions.MaxInFlight messages (and MaxInFlightBytes bytes) awaiting
// acknowledgement, because the server itself never pushes back. Every send
// carries a unique context id and acknowledgements are matched by it, so
// they may arrive in any order.
//
// If the connection is lost, the producer redials with backoff and sends
// again, in their original order, every message not yet acknowledged. A
// message whose acknowledgement was lost with the connection may therefore
// be stored twice: delivery is at-least-once.
type Producer struct {
	client  *Client
	topic   Topic
	opts    ProducerOptions
	params  url.Values
	l       *link
	win     *backpressure.Window
	timeout time.Duration

	sendMu sync.Mutex // orders frames on the wire; guards buf and sock
	buf    []byte
	sock   *sock

	pendMu  sync.Mutex // guards pending, nextID, closed
	pending map[uint64]*SendFuture
	nextID  uint64
	closed  bool
	err     error // why sends fail now: ErrClosed or the terminal error

	closing atomic.Bool
}

// NewProducer connects a producer to topic (any form ParseTopic accepts).
// It returns once the broker has created the producer, or with the
// server's refusal as a *ConnectError. ctx bounds the connection attempt
// only; opts may be nil.
func (c *Client) NewProducer(ctx context.Context, topic string, opts *ProducerOptions) (*Producer, error) {
	t, err := ParseTopic(topic)
	if err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	q, err := o.query()
	if err != nil {
		return nil, err
	}
	return c.newProducer(ctx, t, o, q)
}

func (c *Client) newProducer(ctx context.Context, t Topic, o ProducerOptions, q url.Values) (*Producer, error) {
	p := &Producer{
		client:  c,
		topic:   t,
		opts:    o,
		params:  q,
		win:     backpressure.NewWindow(int64(o.MaxInFlight), int64(o.MaxInFlightBytes)),
		timeout: o.clientSendTimeout(),
		pending: make(map[uint64]*SendFuture),
		nextID:  1,
	}
	p.l = c.newLink("/ws/v2/producer/"+t.path(), p)
	if err := p.l.start(ctx); err != nil {
		return nil, err
	}
	p.sock = p.l.current()
	return p, nil
}

// Topic returns the producer's topic.
func (p *Producer) Topic() Topic { return p.topic }

// Send queues m for the topic and returns its future at once, or after
// waiting for room in the in-flight window, as long as ctx allows. ctx bounds
// only that wait: once admitted, the message is sent and its future
// completes by itself.
//
// Admission errors come back as an already completed future: an *ArgError
// (nothing was sent and the connection is untouched) for a message whose
// frame exceeds ProducerOptions.MaxFrameSize or whose text is not valid
// UTF-8, ctx's error, or ErrClosed. Send does not copy m.Payload: do not
// modify it until the future completes.
func (p *Producer) Send(ctx context.Context, m Message) *SendFuture {
	if err := p.check(&m); err != nil {
		return failedFuture(err)
	}
	if p.closing.Load() {
		return failedFuture(p.closedErr())
	}
	size := int64(len(m.Payload))
	if err := p.win.Acquire(ctx, size); err != nil {
		if errors.Is(err, backpressure.ErrTooLarge) {
			return failedFuture(argErr("Message.Payload", strconv.Itoa(len(m.Payload))+" bytes",
				"larger than ProducerOptions.MaxInFlightBytes ("+strconv.Itoa(p.opts.MaxInFlightBytes)+")"))
		}
		return failedFuture(err)
	}
	f := &SendFuture{msg: m, size: size}
	p.sendMu.Lock()
	p.pendMu.Lock()
	if p.closed {
		err := p.err
		p.pendMu.Unlock()
		p.sendMu.Unlock()
		p.win.Release(size)
		return failedFuture(err)
	}
	f.ctxID = p.nextID
	p.nextID++
	if p.timeout > 0 {
		f.deadline = time.Now().Add(p.timeout).UnixNano()
	}
	p.pending[f.ctxID] = f
	p.pendMu.Unlock()
	p.buf = appendSendFrame(p.buf[:0], &m, f.ctxID)
	// A write error means the socket is dead: the message stays pending and
	// is sent again on the next connection.
	_ = p.sock.write(p.buf)
	p.sendMu.Unlock()
	return f
}

// check validates m before anything is sent.
func (p *Producer) check(m *Message) error {
	if n := sendFrameSize(m); n > p.opts.MaxFrameSize {
		return argErr("Message.Payload", strconv.Itoa(len(m.Payload))+" bytes",
			"the frame would be "+strconv.Itoa(n)+" bytes after base64 and JSON, over the server's limit of "+
				strconv.Itoa(p.opts.MaxFrameSize)+" (ProducerOptions.MaxFrameSize; about 3/4 of it is usable payload)")
	}
	if m.DeliverAfter < 0 {
		return argErr("Message.DeliverAfter", m.DeliverAfter.String(), "must not be negative")
	}
	if !utf8.ValidString(m.Key) {
		return argErr("Message.Key", m.Key, "not valid UTF-8")
	}
	for k, v := range m.Properties {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return argErr("Message.Properties", k, "key or value is not valid UTF-8")
		}
	}
	for _, c := range m.ReplicationClusters {
		if c == "" {
			return argErr("Message.ReplicationClusters", c, "empty cluster name")
		}
	}
	return nil
}

func (p *Producer) closedErr() error {
	p.pendMu.Lock()
	defer p.pendMu.Unlock()
	if p.err != nil {
		return p.err
	}
	return ErrClosed
}

// Flush waits until every message sent before the call has completed
// (acknowledged, failed or timed out), or ctx is done. It returns ctx's
// error in the latter case and nil otherwise; the outcome of each message
// is in its future.
func (p *Producer) Flush(ctx context.Context) error {
	p.pendMu.Lock()
	waits := make([]*SendFuture, 0, len(p.pending))
	for _, f := range p.pending {
		waits = append(waits, f)
	}
	p.pendMu.Unlock()
	for _, f := range waits {
		select {
		case <-f.Done():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Close closes the connection and completes the futures of unacknowledged
// messages with ErrClosed; call Flush first to wait for them. Close is
// idempotent, safe from any goroutine, and returns within a few seconds even
// if the server has stopped reading. It returns nil.
func (p *Producer) Close() error {
	p.closing.Store(true)
	p.pendMu.Lock()
	if !p.closed {
		p.closed, p.err = true, ErrClosed
	}
	p.pendMu.Unlock()
	p.l.close()
	p.failAll(ErrClosed)
	return nil
}

func (p *Producer) failAll(err error) {
	p.pendMu.Lock()
	fs := make([]*SendFuture, 0, len(p.pending))
	for id, f := range p.pending {
		fs = append(fs, f)
		f.msg = Message{}
		delete(p.pending, id)
	}
	p.pendMu.Unlock()
	for _, f := range fs {
		p.finish(f, MessageID{}, err)
	}
}

func (p *Producer) finish(f *SendFuture, id MessageID, err error) {
	size := f.size
	if f.finish(id, err) {
		p.win.Release(size)
	}
}

// endpoint implementation, called by the link.

func (p *Producer) query() url.Values { return cloneValues(p.params) }

func (p *Producer) onMessage(_ *sock, data []byte) {
	ctxID, id, err, ok := decodeAck(data)
	if !ok {
		// send-error:3 carries no context; we never send unparsable JSON.
		p.client.logger().Warn("stargate: producer frame matches no send", "frame", truncate(data))
		return
	}
	p.pendMu.Lock()
	f := p.pending[ctxID]
	if f != nil {
		f.msg = Message{}
		delete(p.pending, ctxID)
	}
	p.pendMu.Unlock()
	if f != nil { // else it already timed out or failed
		p.finish(f, id, err)
	}
}

func (p *Producer) connected(s *sock) {
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	p.sock = s
	type entry struct {
		ctxID uint64
		msg   Message
	}
	p.pendMu.Lock()
	resend := make([]entry, 0, len(p.pending))
	for _, f := range p.pending {
		resend = append(resend, entry{f.ctxID, f.msg})
	}
	p.pendMu.Unlock()
	slices.SortFunc(resend, func(a, b entry) int { return cmp.Compare(a.ctxID, b.ctxID) })
	for _, f := range resend {
		p.buf = appendSendFrame(p.buf[:0], &f.msg, f.ctxID)
		if s.write(p.buf) != nil {
			return // lost again; the next connection resends
		}
	}
}

func (p *Producer) prepare(*sock)     {}
func (p *Producer) lost(*sock, error) {}

func (p *Producer) failed(err error) {
	p.pendMu.Lock()
	p.closed, p.err = true, err
	p.pendMu.Unlock()
	p.closing.Store(true)
	p.failAll(err)
}

func (p *Producer) tick(now time.Time) {
	if p.timeout <= 0 {
		return
	}
	n := now.UnixNano()
	var expired []*SendFuture
	p.pendMu.Lock()
	for id, f := range p.pending {
		if f.deadline != 0 && f.deadline < n {
			expired = append(expired, f)
			f.msg = Message{}
			delete(p.pending, id)
		}
	}
	p.pendMu.Unlock()
	for _, f := range expired {
		p.finish(f, MessageID{}, ErrSendTimeout)
	}
}

func cloneValues(v url.Values) url.Values {
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = slices.Clone(vs)
	}
	return c
}
