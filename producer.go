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
	opts    ProducerOptions
	params  url.Values
	l       *link
	win     *backpressure.Window
	timeout time.Duration

	// sendLock orders frames on the wire and guards buf and sock. Send
	// holds it for one write; connected holds it for a whole resend, so
	// that new frames follow the resent ones. Waiting for it honours the
	// caller's ctx and the producer's end.
	sendLock  chanLock
	buf       []byte
	sock      *sock
	resending atomic.Pointer[sock] // the socket a resend is writing to; Close closes it

	pendMu  sync.Mutex // guards pending and nextID
	pending map[uint64]*pendingSend
	nextID  uint64

	// ended is the producer's one closed state: nil while it accepts
	// sends, then why every later Send and Flush fails (ErrClosed after
	// Close, else the terminal error that ended it). dead is closed when
	// ended is first set, to wake Sends waiting for sendLock.
	ended    atomic.Pointer[error]
	dead     chan struct{}
	deadOnce sync.Once

	crypto   *producerCrypto // client-side encryption; nil without ProducerOptions.Encryption
	stats    prodCounters
	obsMu    sync.Mutex               // guards observed
	observed map[uint64]*observedSend // the Observer's sends awaiting Sent, by context id
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
	var pc *producerCrypto
	if o.Encryption != nil {
		if pc, err = newProducerCrypto(&o); err != nil {
			return nil, err
		}
	}
	p := &Producer{
		crypto:   pc,
		client:   c,
		opts:     o,
		params:   q,
		win:      backpressure.NewWindow(int64(o.MaxInFlight), int64(o.MaxInFlightBytes)),
		timeout:  o.clientSendTimeout(),
		pending:  make(map[uint64]*pendingSend),
		nextID:   1,
		sendLock: newChanLock(),
		dead:     make(chan struct{}),
	}
	p.l = c.newLink("/ws/v2/producer/"+t.path(), p)
	// Hold the send lock until sock is set: once started, the link
	// goroutine may reconnect and call connected, which takes the lock.
	_ = p.sendLock.lock(context.Background(), nil) // free: nobody else has p yet
	defer p.sendLock.unlock()
	if err := p.l.start(ctx); err != nil {
		return nil, err
	}
	p.sock = p.l.current()
	if pc != nil {
		pc.adopt()
	}
	return p, nil
}

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
	if p.l.obs != nil {
		return p.sendObserved(ctx, m)
	}
	return p.send(ctx, m, nil)
}

// send is Send; o is the Observer's record of the send, nil without one.
func (p *Producer) send(ctx context.Context, m Message, o *observedSend) *SendFuture {
	if err := ctx.Err(); err != nil {
		return failedFuture(err)
	}
	if err := p.check(&m); err != nil {
		return failedFuture(err)
	}
	if err := p.endErr(); err != nil {
		return failedFuture(err)
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
	if m.Properties != nil && o == nil { // sendObserved copied them
		m.Properties = maps.Clone(m.Properties)
	}
	if m.ReplicationClusters != nil {
		m.ReplicationClusters = slices.Clone(m.ReplicationClusters)
	}
	if err := p.sendLock.lock(ctx, p.dead); err != nil {
		p.win.Release(size)
		if err == errEnded {
			err = p.endErr()
		}
		return failedFuture(err)
	}
	defer p.sendLock.unlock()
	p.maybeRotate(ctx)
	e, err := p.admit(m, size, o)
	if err != nil {
		p.win.Release(size)
		return failedFuture(err)
	}
	// A write error means the socket is dead: the message stays pending and
	// is sent again on the next connection. (A frame over the connection's
	// write limit cannot happen: MaxFrameSize is bounded by it.)
	if p.buf, err = p.appendFrame(p.buf[:0], &m, e.ctxID); err == nil {
		_ = p.sock.write(p.buf)
	}
	return &e.SendFuture
}

// admit adds m to the pending set under a new context id, unless the
// producer has ended: the check and the insertion are one step under
// pendMu, so that failAll, which runs after ended is set, sees every
// admitted send.
func (p *Producer) admit(m Message, size int64, o *observedSend) (*pendingSend, error) {
	p.pendMu.Lock()
	defer p.pendMu.Unlock()
	if err := p.endErr(); err != nil {
		return nil, err
	}
	e := &pendingSend{msg: m, size: size, ctxID: p.nextID}
	p.nextID++
	p.stats.sent.Add(1)
	p.stats.sentBytes.Add(size)
	if o != nil {
		p.track(e.ctxID, o)
	}
	if p.timeout > 0 {
		e.deadline = time.Now().Add(p.timeout).UnixNano()
	}
	p.pending[e.ctxID] = e
	return e, nil
}

// Client-side send timeout: the server's default (SendTimeout zero), and the
// grace the client adds before it gives up on an acknowledgement itself.
const (
	defaultSendTimeout = 30 * time.Second
	sendTimeoutGrace   = 5 * time.Second
)

// clientSendTimeout is how long a future waits before the client gives up
// on it; 0 means never.
func (o *ProducerOptions) clientSendTimeout() time.Duration {
	switch {
	case o.SendTimeout < 0:
		return 0
	case o.SendTimeout == 0:
		return defaultSendTimeout + sendTimeoutGrace
	}
	return o.SendTimeout + sendTimeoutGrace
}

// check validates m before anything is sent.
func (p *Producer) check(m *Message) error {
	if n := sendFrameSize(m) + p.encryptionOverhead(m); n > p.opts.MaxFrameSize {
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

// endErr returns the producer's closed state: nil while it accepts sends.
func (p *Producer) endErr() error {
	if err := p.ended.Load(); err != nil {
		return *err
	}
	return nil
}

// Flush waits until every message sent before the call has completed
// (acknowledged, failed or timed out), or ctx is done. It returns ctx's
// error in the latter case and nil otherwise; the outcome of each message
// is in its future. After Close it returns ErrClosed, and once the
// producer has ended on a terminal error (ErrTopicTerminated, a refused
// reconnect) that error: every future has then completed.
func (p *Producer) Flush(ctx context.Context) error {
	if err := p.endErr(); err != nil {
		return err
	}
	// A send leaves pending only once its future is complete (see
	// complete), so every send not in this snapshot has completed.
	p.pendMu.Lock()
	waits := make([]*SendFuture, 0, len(p.pending))
	for _, e := range p.pending {
		waits = append(waits, &e.SendFuture)
	}
	p.pendMu.Unlock()
	for _, f := range waits {
		if err := f.await(ctx); err != nil {
			return err
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

// shut ends the producer with err: every later Send and Flush fails with
// it, and Sends waiting for the send lock wake up. A first terminal error
// stays, except that ErrClosed (Close) always wins.
func (p *Producer) shut(err error) {
	for {
		old := p.ended.Load()
		if old != nil && err != ErrClosed || p.ended.CompareAndSwap(old, &err) {
			break
		}
	}
	p.deadOnce.Do(func() { close(p.dead) })
}

func (p *Producer) failAll(err error) {
	p.pendMu.Lock()
	sizes := make([]int64, 0, len(p.pending))
	for _, e := range p.pending {
		if p.complete(e, MessageID{}, err) {
			sizes = append(sizes, e.size)
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

// complete completes e's future, removes e from pending and reports
// whether this call completed it (the caller then releases its window
// share). It is called with pendMu held: Flush relies on every send that
// left pending being complete.
func (p *Producer) complete(e *pendingSend, id MessageID, err error) bool {
	e.msg = Message{}
	delete(p.pending, e.ctxID)
	// Counted and observed before the future completes, so that Stats and
	// the Observer have seen the outcome when Wait returns. Every caller
	// found e in pending, which it leaves here: this runs once per send.
	if err != nil {
		p.stats.failed.Add(1)
		p.l.conn.noteError(err)
	} else {
		p.stats.acked.Add(1)
	}
	if p.l.obs != nil {
		p.observeDone(e.ctxID, id, err)
	}
	return e.finish(id, err)
}

// endpoint implementation, called by the link.

func (p *Producer) query() url.Values {
	q := cloneValues(p.params)
	p.encryptionQuery(q)
	return q
}

func (p *Producer) onMessage(data []byte) {
	ctxID, id, err, ok := decodeAck(data)
	if !ok {
		// send-error:3 carries no context; we never send unparsable JSON.
		p.client.logger().Warn("stargate: producer frame matches no send", "frame", truncate(data))
		return
	}
	terminated := err != nil && errors.Is(err, ErrTopicTerminated)
	if terminated {
		// The topic accepts no more messages: later Sends fail at once
		// instead of waiting for their timeout. Shut before this send's
		// future completes, so that a Send made after its Wait returns
		// already sees the end (it raced: 1 in ~40 runs of
		// TestProducerTopicTerminated).
		p.shut(ErrTopicTerminated)
	}
	p.pendMu.Lock()
	e := p.pending[ctxID]
	done := e != nil && p.complete(e, id, err) // else it already timed out or failed
	p.pendMu.Unlock()
	if done {
		p.win.Release(e.size)
	}
	if terminated {
		// Those still pending fail too, and the connection is closed (a
		// reconnect would be refused anyway).
		p.failAll(ErrTopicTerminated)
		p.l.fail(ErrTopicTerminated)
	}
}

func (p *Producer) connected(s *sock) {
	if p.sendLock.lock(context.Background(), p.dead) != nil {
		return
	}
	defer p.sendLock.unlock()
	p.sock = s
	if p.crypto != nil {
		p.crypto.adopt()
	}
	p.resending.Store(s)
	defer p.resending.Store(nil)
	type entry struct {
		ctxID uint64
		msg   Message
	}
	p.pendMu.Lock()
	resend := make([]entry, 0, len(p.pending))
	for _, e := range p.pending {
		resend = append(resend, entry{e.ctxID, e.msg})
	}
	p.pendMu.Unlock()
	slices.SortFunc(resend, func(a, b entry) int { return cmp.Compare(a.ctxID, b.ctxID) })
	for _, f := range resend {
		if p.endErr() != nil { // Close, which closes s if it saw it in resending
			return
		}
		var err error
		if p.buf, err = p.appendFrame(p.buf[:0], &f.msg, f.ctxID); err != nil {
			continue // only a failing random source: the send times out
		}
		if s.write(p.buf) != nil {
			return // lost again; the next connection resends
		}
	}
}

func (p *Producer) prepare(*sock) receiver { return p }

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
	for _, e := range p.pending {
		if e.deadline != 0 && e.deadline < n && p.complete(e, MessageID{}, ErrSendTimeout) {
			sizes = append(sizes, e.size)
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
