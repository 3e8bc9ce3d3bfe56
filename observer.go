package stargate

import (
	"context"
	"maps"
	"net/url"
	"strings"
	"time"
)

// Observer sees what the producers, consumers and readers of a Client do,
// for metrics and tracing; set it in ClientOptions.Observer. The module
// github.com/stargate-go/stargate/otel implements it with OpenTelemetry.
// With no Observer set, the handles do no work for one: no event is built
// and no property map is copied.
//
// Methods are called synchronously where the event happens: Sending on the
// goroutine calling Producer.Send, Received on the range loop's goroutine,
// Settled in Message.Ack and Message.Nack, the others on the handles'
// internal goroutines; several may run at once. They must be fast, must
// not block and must not call methods of the handle. Events are passed by
// value; they may gain fields. An implementation should embed NopObserver,
// so that it keeps compiling if methods are added.
type Observer interface {
	// Sending is called by Producer.Send before the message is checked and
	// admitted. ctx is Send's; the context returned (ctx itself when there
	// is nothing to carry) is handed to Sent. e.Properties is the message's
	// own copy of its properties, never nil: entries added to it during the
	// call, such as a W3C traceparent, are sent with the message (and count
	// towards ProducerOptions.MaxFrameSize); it must not be kept.
	Sending(ctx context.Context, e SendEvent) context.Context
	// Sent is called exactly once for every Sending, when the send's
	// future completes (acknowledged, failed, timed out, closed, or
	// refused at admission), just before Wait returns. It runs with the
	// producer's lock on its pending sends held.
	Sent(ctx context.Context, e SendResult)
	// Received is called when a Consumer or Reader hands a message to the
	// range loop, on the loop's goroutine; ctx is the one given to
	// Messages or Batches. e.Message.Properties is the message's own map:
	// read it, do not modify it.
	Received(ctx context.Context, e ReceiveEvent)
	// Settled is called by Message.Ack and Message.Nack on a consumer's
	// message, after the acknowledgement was written (or failed).
	Settled(e SettleEvent)
	// Permitted is called when a pull-mode consumer grants the server
	// permits.
	Permitted(e PermitEvent)
	// Connection is called when a handle's connection is lost, a redial
	// fails, a reconnect succeeds, or the handle gives up.
	Connection(e ConnEvent)
}

// HandleInfo names the handle an event comes from.
type HandleInfo struct {
	// Kind is "producer", "consumer" or "reader".
	Kind string
	// Topic is the full topic name ("persistent://public/default/orders");
	// for a multi-topic consumer the comma-separated list, for a pattern
	// consumer the pattern.
	Topic string
	// Subscription is the consumer's subscription; empty for the others.
	Subscription string
}

// SendEvent is a message about to be sent, for Observer.Sending.
type SendEvent struct {
	// Handle is the producer.
	Handle HandleInfo
	// Bytes is the payload's length.
	Bytes int
	// Properties is the message's own copy of its properties, never nil;
	// the observer may add entries to it.
	Properties map[string]string
}

// SendResult is the outcome of one send, for Observer.Sent.
type SendResult struct {
	// Handle is the producer.
	Handle HandleInfo
	// Bytes is the payload's length.
	Bytes int
	// ID is the MessageID the broker assigned; zero if Err is set.
	ID MessageID
	// Err is what the future completed with: nil, a *SendError,
	// ErrSendTimeout, ErrClosed, an admission error (an *ArgError, ctx's
	// error)...
	Err error
	// Latency is the time from Send to completion.
	Latency time.Duration
}

// ReceiveEvent is a message handed to a range loop, for Observer.Received.
type ReceiveEvent struct {
	// Handle is the consumer or reader.
	Handle HandleInfo
	// Message is the message the loop gets.
	Message Message
}

// SettleEvent is one Message.Ack or Message.Nack, for Observer.Settled.
type SettleEvent struct {
	// Handle is the consumer.
	Handle HandleInfo
	// Nack is true for Message.Nack.
	Nack bool
	// Bytes is the message's payload length.
	Bytes int
	// Err is what Ack or Nack returned.
	Err error
}

// PermitEvent is a permit frame of a pull-mode consumer, for
// Observer.Permitted.
type PermitEvent struct {
	// Handle is the consumer.
	Handle HandleInfo
	// Permits is how many messages the server may now send in addition.
	Permits int
}

// ConnEventKind says what happened to a handle's connection.
type ConnEventKind uint8

// The kinds of ConnEvent.
const (
	// ConnLost: the connection died; a reconnect follows unless the error
	// is terminal.
	ConnLost ConnEventKind = iota + 1
	// ConnDialFailed: one reconnection attempt failed; another follows
	// after a backoff unless the error is terminal.
	ConnDialFailed
	// ConnReconnected: a new connection replaced the lost one.
	ConnReconnected
	// ConnFailed: the handle gave up on a terminal error.
	ConnFailed
)

// String returns "lost", "dial_failed", "reconnected" or "failed".
func (k ConnEventKind) String() string {
	switch k {
	case ConnLost:
		return "lost"
	case ConnDialFailed:
		return "dial_failed"
	case ConnReconnected:
		return "reconnected"
	case ConnFailed:
		return "failed"
	}
	return "unknown"
}

// ConnEvent is a change of a handle's connection, for Observer.Connection.
type ConnEvent struct {
	// Handle is the handle whose connection it is.
	Handle HandleInfo
	// Kind says what happened.
	Kind ConnEventKind
	// Err is why the connection was lost, the dial failed or the handle
	// gave up; nil for ConnReconnected.
	Err error
	// Attempt counts the dials of this reconnection, from 1; zero for
	// ConnLost and ConnFailed.
	Attempt int
}

// NopObserver is an Observer that does nothing. Embed it in an Observer
// to implement only some methods.
type NopObserver struct{}

// Sending returns ctx.
func (NopObserver) Sending(ctx context.Context, _ SendEvent) context.Context { return ctx }

// Sent does nothing.
func (NopObserver) Sent(context.Context, SendResult) {}

// Received does nothing.
func (NopObserver) Received(context.Context, ReceiveEvent) {}

// Settled does nothing.
func (NopObserver) Settled(SettleEvent) {}

// Permitted does nothing.
func (NopObserver) Permitted(PermitEvent) {}

// Connection does nothing.
func (NopObserver) Connection(ConnEvent) {}

// handleInfo names the handle of a link from its path:
// "/ws/v2/<kind>/<domain>/<tenant>/<ns>/<name>[/<subscription>]" or
// "/ws/v3/consumer/<subscription>" (whose topics the consumer sets).
func handleInfo(path string) HandleInfo {
	seg := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(seg) < 4 {
		return HandleInfo{}
	}
	h := HandleInfo{Kind: seg[2]}
	unescape := func(s string) string {
		if u, err := url.PathUnescape(s); err == nil {
			return u
		}
		return s
	}
	if seg[1] == "v3" {
		h.Subscription = unescape(seg[3])
		return h
	}
	if len(seg) >= 7 {
		h.Topic = seg[3] + "://" + seg[4] + "/" + seg[5] + "/" + unescape(seg[6])
	}
	if h.Kind == "consumer" && len(seg) >= 8 {
		h.Subscription = unescape(seg[7])
	}
	return h
}

// observedSend is the Producer's record of a send the Observer saw, from
// Sending to Sent.
type observedSend struct {
	ctx      context.Context // what Sending returned
	start    time.Time
	bytes    int
	admitted bool // set by admit; else Send refused it and sendObserved reports it
}

// sendObserved is Send with an Observer: it copies the properties for the
// observer to add to, and makes sure Sent follows Sending, also for a send
// refused at admission.
func (p *Producer) sendObserved(ctx context.Context, m Message) *SendFuture {
	props := make(map[string]string, len(m.Properties)+2)
	maps.Copy(props, m.Properties)
	m.Properties = props
	o := &observedSend{start: time.Now(), bytes: len(m.Payload)}
	o.ctx = p.l.obs.Sending(ctx, SendEvent{Handle: p.l.info, Bytes: o.bytes, Properties: props})
	f := p.send(ctx, m, o)
	if !o.admitted {
		p.l.obs.Sent(o.ctx, SendResult{Handle: p.l.info, Bytes: o.bytes, Err: f.err, Latency: time.Since(o.start)})
	}
	return f
}

// track records an admitted observed send; pendMu is held.
func (p *Producer) track(ctxID uint64, o *observedSend) {
	o.admitted = true
	p.obsMu.Lock()
	if p.observed == nil {
		p.observed = make(map[uint64]*observedSend)
	}
	p.observed[ctxID] = o
	p.obsMu.Unlock()
}

// observeDone tells the Observer the outcome of the send ctxID; it is
// called with pendMu held, once per send (the send leaves the map).
func (p *Producer) observeDone(ctxID uint64, id MessageID, err error) {
	p.obsMu.Lock()
	o := p.observed[ctxID]
	delete(p.observed, ctxID)
	p.obsMu.Unlock()
	if o != nil {
		p.l.obs.Sent(o.ctx, SendResult{Handle: p.l.info, Bytes: o.bytes, ID: id, Err: err, Latency: time.Since(o.start)})
	}
}
