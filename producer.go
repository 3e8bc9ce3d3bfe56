package stargate

import (
	"cmp"
	"context"
	"errors"
	"maps"
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

	// sendLock is a one-slot channel used as a lock, so that waiting for it
	// can honour a context: it orders frames on the wire and guards buf and
	// sock. Send holds it for one write; connected holds it for a whole
	// resend, so that new frames follow the resent ones.
	sendLock  chan struct{}
	buf       []byte
	sock      *sock
	resending atomic.Pointer[sock] // the socket a resend is writing to; Close closes it

	pendMu  sync.Mutex // guards pending, nextID, closed, err
	pending map[uint64]*SendFuture
	nextID  uint64
	closed  bool
	err     error // why sends fail now: ErrClosed or the terminal error

	closing  atomic.Bool
	dead     chan struct{} // closed with closing: wakes Sends waiting for sendLock
	deadOnce sync.Once
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
		client:   c,
		topic:    t,
		opts:     o,
		params:   q,
		win:      backpressure.NewWindow(int64(o.MaxInFlight), int64(o.MaxInFlightBytes)),
		timeout:  o.clientSendTimeout(),
		pending:  make(map[uint64]*SendFuture),
		nextID:   1,
		sendLock: make(chan struct{}, 1),
		dead:     make(chan struct{}),
	}
	p.l = c.newLink("/ws/v2/producer/"+t.path(), p)
	// Hold the send lock until sock is set: once started, the link
	// goroutine may reconnect and call connected, which takes the lock.
	p.sendLock <- struct{}{}
	if err := p.l.start(ctx); err != nil {
		<-p.sendLock
		return nil, err
	}
	p.sock = p.l.current()
	<-p.sendLock
	return p, nil
}

// Topic returns the producer's topic.
func (p *Producer) Topic() Topic { return p.topic }

// Send queues m for the topic and returns its future at once, or after
// waiting for room in the in-flight window and for the connection's write
// lock, as long as ctx allows. ctx bounds only those waits: once admitted,
// the message is sent and its future completes by itself. A ctx that is
// already done is refused: nothing is sent.
//
// The write itself only queues the frame; it waits (at most the
// connection's write timeout, 10s) only while the socket is backed up, and
// other Sends wait for it within their own ctx. After a reconnect, the
// resend of unacknowledged messages holds the write lock until they are all
// written again, so that frames stay in order on the wire.
//
// Admission errors come back as an already completed future: an *ArgError
// (nothing was sent and the connection is untouched) for a message whose
// frame exceeds ProducerOptions.MaxFrameSize or whose text is not valid
// UTF-8, ctx's error, ErrClosed, or, once the topic was terminated, an
// error matching ErrTopicTerminated.
//
// Send copies m.Properties and m.ReplicationClusters, which are encoded
// again if the message must be resent after a reconnect, but not
// m.Payload: do not modify the payload until the future completes.
func (p *Producer) Send(ctx context.Context, m Message) *SendFuture {
	if err := ctx.Err(); err != nil {
		return failedFuture(err)
	}
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
	// The caller may reuse its map and slice as soon as Send returns; a
	// resend must encode what was sent. (Copying only these two costs
	// nothing for messages without them; see BenchmarkSend.)
	if m.Properties != nil {
		m.Properties = maps.Clone(m.Properties)
	}
	if m.ReplicationClusters != nil {
		m.ReplicationClusters = slices.Clone(m.ReplicationClusters)
	}
	f := &SendFuture{msg: m, size: size}
	select {
	case p.sendLock <- struct{}{}: // the uncontended case, without the cost of a three-way select
	default:
		select {
		case p.sendLock <- struct{}{}:
		case <-ctx.Done():
			p.win.Release(size)
			return failedFuture(ctx.Err())
		case <-p.dead:
			p.win.Release(size)
			return failedFuture(p.closedErr())
		}
	}
	p.pendMu.Lock()
	if p.closed {
		err := p.err
		p.pendMu.Unlock()
		<-p.sendLock
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
	// is sent again on the next connection. (A frame over the connection's
	// write limit cannot happen: MaxFrameSize is bounded by it.)
	_ = p.sock.write(p.buf)
	<-p.sendLock
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
// is in its future. After Close it returns ErrClosed, and once the
// producer has ended on a terminal error (ErrTopicTerminated, a refused
// reconnect) that error: every future has then completed.
func (p *Producer) Flush(ctx context.Context) error {
	if p.closing.Load() {
		return p.closedErr()
	}
	// A future leaves pending only once it is complete (see complete), so
	// every future not in this snapshot has completed.
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
// if the server has stopped reading: it never waits for Sends in progress,
// nor for a resend after a reconnect, which it interrupts. It returns nil.
func (p *Producer) Close() error {
	p.shut(ErrClosed) // also after a terminal error: every method now says ErrClosed
	// A resend in progress holds the send lock and may wait on a backed-up
	// socket; closing that socket releases it, so that the link goroutine
	// (which l.close joins) returns at once.
	if s := p.resending.Load(); s != nil {
		_ = s.conn.Close()
	}
	p.l.close()
	p.failAll(ErrClosed)
	return nil
}

// shut makes every later Send fail with err (unless an earlier terminal
// error was set; ErrClosed always wins) and wakes Sends waiting for the
// send lock.
func (p *Producer) shut(err error) {
	p.pendMu.Lock()
	if !p.closed || err == ErrClosed {
		p.closed, p.err = true, err
	}
	p.pendMu.Unlock()
	p.closing.Store(true)
	p.deadOnce.Do(func() { close(p.dead) })
}

func (p *Producer) failAll(err error) {
	p.pendMu.Lock()
	sizes := make([]int64, 0, len(p.pending))
	for id, f := range p.pending {
		if p.complete(id, f, MessageID{}, err) {
			sizes = append(sizes, f.size)
		}
	}
	p.pendMu.Unlock()
	p.release(sizes)
}

// release returns the window shares of completed futures.
func (p *Producer) release(sizes []int64) {
	for _, n := range sizes {
		p.win.Release(n)
	}
}

// complete completes f, removes it from pending and reports whether this
// call completed it (the caller then releases its window share). It is
// called with pendMu held: Flush relies on every future that left pending
// being complete.
func (p *Producer) complete(ctxID uint64, f *SendFuture, id MessageID, err error) bool {
	f.msg = Message{}
	delete(p.pending, ctxID)
	return f.finish(id, err)
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
	done := f != nil && p.complete(ctxID, f, id, err) // else it already timed out or failed
	p.pendMu.Unlock()
	if done {
		p.win.Release(f.size)
	}
	if err != nil && errors.Is(err, ErrTopicTerminated) {
		// The topic accepts no more messages: later Sends and those still
		// pending fail at once instead of waiting for their timeout, and the
		// connection is closed (a reconnect would be refused anyway).
		p.shut(ErrTopicTerminated)
		p.failAll(ErrTopicTerminated)
		p.l.fail(ErrTopicTerminated)
	}
}

func (p *Producer) connected(s *sock) {
	select {
	case p.sendLock <- struct{}{}:
	case <-p.dead:
		return
	}
	defer func() { <-p.sendLock }()
	p.sock = s
	p.resending.Store(s)
	defer p.resending.Store(nil)
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
		if p.closing.Load() { // Close, which closes s if it saw it in resending
			return
		}
		p.buf = appendSendFrame(p.buf[:0], &f.msg, f.ctxID)
		if s.write(p.buf) != nil {
			return // lost again; the next connection resends
		}
	}
}

func (p *Producer) prepare(*sock) {}

// lost ends the producer when the server closed the connection with 1009
// (message too big): one of the pending frames is over the server's
// webSocketMaxTextFrameSize, so ProducerOptions.MaxFrameSize is set above
// it, and every reconnect would resend that frame and meet the same close,
// storing the messages before it again each time.
func (p *Producer) lost(_ *sock, err error) {
	var ce *CloseError
	if errors.As(err, &ce) && ce.Code == closeMessageTooBig {
		p.shut(err)
		p.failAll(err)
		p.l.fail(err) // the link ends instead of reconnecting
	}
}

// closeMessageTooBig is the WebSocket close code for a message over the
// receiver's limit (RFC 6455 §7.4.1).
const closeMessageTooBig = 1009

func (p *Producer) failed(err error) {
	p.shut(err)
	p.failAll(err)
}

func (p *Producer) tick(now time.Time) {
	if p.timeout <= 0 {
		return
	}
	n := now.UnixNano()
	var sizes []int64
	p.pendMu.Lock()
	for id, f := range p.pending {
		if f.deadline != 0 && f.deadline < n && p.complete(id, f, MessageID{}, ErrSendTimeout) {
			sizes = append(sizes, f.size)
		}
	}
	p.pendMu.Unlock()
	p.release(sizes)
}

func cloneValues(v url.Values) url.Values {
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = slices.Clone(vs)
	}
	return c
}
