// Package otel connects stargate to OpenTelemetry: NewObserver returns a
// stargate.Observer, for stargate.ClientOptions.Observer, that records
// metrics and traces of every producer, consumer and reader of the Client.
//
// # Traces
//
// Every Producer.Send is a span of kind Producer, "send <topic>", child of
// the span in Send's context and ended when the send's future completes.
// Its context is injected into the message's properties with the
// propagator, by default W3C Trace Context ("traceparent", "tracestate")
// and W3C Baggage ("baggage"): the properties Pulsar's Java client
// instrumentation reads and writes, so that traces cross between stargate
// and Java services. Every message a Consumer or Reader hands to the range
// loop is a span of kind Consumer, "receive <topic>", whose parent is the
// context extracted from the message's properties (so the two spans share
// a trace); Extract gives a handler that context to continue the trace.
//
// # Metrics
//
// Every instrument carries messaging.system ("pulsar"),
// messaging.destination.name (the topic), stargate.handle ("producer",
// "consumer" or "reader") and, for consumers,
// messaging.consumer.group.name (the subscription):
//
//	stargate.sent.messages, stargate.sent.bytes          messages given to Producer.Send (see below)
//	stargate.send.duration (s)                           Send to completion; error.type on failures
//	stargate.send.inflight                               sends awaiting their outcome
//	stargate.received.messages, stargate.received.bytes  messages handed to a range loop
//	stargate.acked.messages, stargate.acked.bytes        Message.Ack calls that succeeded
//	stargate.nacked.messages, stargate.nacked.bytes      Message.Nack calls that succeeded
//	stargate.permits                                     permits granted by pull-mode consumers
//	stargate.reconnects                                  connections that replaced a lost one
//	stargate.errors                                      errors by error.type and stargate.operation
//
// error.type is one of the kinds listed at ErrorType; stargate.operation
// is "send", "ack", "nack", "connection_lost", "connection_dial_failed" or
// "connection_failed". stargate.sent.*
// count every call of Send, also those it refused at once (a done ctx, an
// oversized message), which show in stargate.errors and
// stargate.send.duration with their error.type; Producer.Stats counts only
// admitted sends.
package otel

import (
	"context"
	"errors"
	"strconv"
	"sync"

	"github.com/stargate-go/stargate"
	globalotel "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// scope is the instrumentation scope of the tracer and meter.
const scope = "github.com/stargate-go/stargate/otel"

// Options configures an Observer. The zero value (or nil) uses the global
// providers and W3C Trace Context with Baggage.
type Options struct {
	// TracerProvider makes the tracer for the send and receive spans. Nil
	// means the global one, otel.GetTracerProvider(), at the time
	// NewObserver is called.
	TracerProvider trace.TracerProvider
	// MeterProvider makes the meter for the instruments. Nil means the
	// global one, otel.GetMeterProvider(), at the time NewObserver is
	// called.
	MeterProvider metric.MeterProvider
	// Propagator injects the send span's context into a message's
	// properties and extracts it from received messages. Nil means W3C
	// Trace Context and Baggage, whatever the global propagator is.
	Propagator propagation.TextMapPropagator
}

// Observer records OpenTelemetry metrics and traces for the handles of the
// Clients it is set on; it implements stargate.Observer. It is safe for
// concurrent use, and one Observer may serve several Clients.
type Observer struct {
	stargate.NopObserver
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
	m      instruments
	attrs  sync.Map // stargate.HandleInfo → metric.MeasurementOption
}

// NewObserver returns an Observer with the providers of opts (nil: the
// defaults). It fails only if an instrument cannot be created.
func NewObserver(opts *Options) (*Observer, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.TracerProvider == nil {
		o.TracerProvider = globalotel.GetTracerProvider()
	}
	if o.MeterProvider == nil {
		o.MeterProvider = globalotel.GetMeterProvider()
	}
	if o.Propagator == nil {
		o.Propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	}
	ob := &Observer{tracer: o.TracerProvider.Tracer(scope), prop: o.Propagator}
	if err := ob.m.init(o.MeterProvider.Meter(scope)); err != nil {
		return nil, err
	}
	return ob, nil
}

// Extract returns ctx with the span context carried in m's properties, as
// the producer's Send injected it: the parent for spans of the message's
// processing.
func (o *Observer) Extract(ctx context.Context, m stargate.Message) context.Context {
	return o.prop.Extract(ctx, propagation.MapCarrier(m.Properties))
}

// Sending starts the send span and injects its context into the message's
// properties.
func (o *Observer) Sending(ctx context.Context, e stargate.SendEvent) context.Context {
	ctx, _ = o.tracer.Start(ctx, "send "+e.Handle.Topic,
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(spanAttrs(e.Handle, "send")...),
		trace.WithAttributes(attribute.Int("messaging.message.body.size", e.Bytes)))
	o.prop.Inject(ctx, propagation.MapCarrier(e.Properties))
	at := o.attrsOf(e.Handle)
	o.m.sent.Add(ctx, 1, at)
	o.m.sentBytes.Add(ctx, int64(e.Bytes), at)
	o.m.inflight.Add(ctx, 1, at)
	return ctx
}

// Sent ends the send span and records the send's duration.
func (o *Observer) Sent(ctx context.Context, e stargate.SendResult) {
	span := trace.SpanFromContext(ctx)
	at := o.attrsOf(e.Handle)
	o.m.inflight.Add(ctx, -1, at)
	if e.Err != nil {
		kind := ErrorType(e.Err)
		span.RecordError(e.Err)
		span.SetStatus(codes.Error, e.Err.Error())
		span.SetAttributes(attribute.String("error.type", kind))
		o.m.duration.Record(ctx, e.Latency.Seconds(), at, metric.WithAttributes(attribute.String("error.type", kind)))
		o.countError(ctx, e.Handle, "send", kind)
	} else {
		span.SetAttributes(attribute.String("messaging.message.id", e.ID.String()))
		o.m.duration.Record(ctx, e.Latency.Seconds(), at)
	}
	span.End()
}

// Received records a receive span, child of the context in the message's
// properties.
func (o *Observer) Received(ctx context.Context, e stargate.ReceiveEvent) {
	m := e.Message
	parent := o.Extract(ctx, m)
	_, span := o.tracer.Start(parent, "receive "+e.Handle.Topic,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(spanAttrs(e.Handle, "receive")...),
		trace.WithAttributes(
			attribute.String("messaging.message.id", m.ID.String()),
			attribute.Int("messaging.message.body.size", len(m.Payload)),
			attribute.Int("messaging.pulsar.redelivery_count", m.RedeliveryCount)))
	span.End()
	at := o.attrsOf(e.Handle)
	o.m.received.Add(ctx, 1, at)
	o.m.receivedBytes.Add(ctx, int64(len(m.Payload)), at)
}

// Settled counts acknowledgements and their failures.
func (o *Observer) Settled(e stargate.SettleEvent) {
	ctx := context.Background()
	if e.Err != nil {
		op := "ack"
		if e.Nack {
			op = "nack"
		}
		o.countError(ctx, e.Handle, op, ErrorType(e.Err))
		return
	}
	at := o.attrsOf(e.Handle)
	if e.Nack {
		o.m.nacked.Add(ctx, 1, at)
		o.m.nackedBytes.Add(ctx, int64(e.Bytes), at)
		return
	}
	o.m.acked.Add(ctx, 1, at)
	o.m.ackedBytes.Add(ctx, int64(e.Bytes), at)
}

// Permitted counts permits.
func (o *Observer) Permitted(e stargate.PermitEvent) {
	o.m.permits.Add(context.Background(), int64(e.Permits), o.attrsOf(e.Handle))
}

// Connection counts reconnects and connection errors.
func (o *Observer) Connection(e stargate.ConnEvent) {
	ctx := context.Background()
	if e.Kind == stargate.ConnReconnected {
		o.m.reconnects.Add(ctx, 1, o.attrsOf(e.Handle))
		return
	}
	if e.Err != nil {
		o.countError(ctx, e.Handle, "connection_"+e.Kind.String(), ErrorType(e.Err))
	}
}

func (o *Observer) countError(ctx context.Context, h stargate.HandleInfo, op, kind string) {
	o.m.errors.Add(ctx, 1, o.attrsOf(h), metric.WithAttributes(
		attribute.String("error.type", kind), attribute.String("stargate.operation", op)))
}

// attrsOf returns the measurement attributes of h, made once per handle
// name.
func (o *Observer) attrsOf(h stargate.HandleInfo) metric.MeasurementOption {
	if v, ok := o.attrs.Load(h); ok {
		return v.(metric.MeasurementOption)
	}
	kv := []attribute.KeyValue{
		attribute.String("messaging.system", "pulsar"),
		attribute.String("messaging.destination.name", h.Topic),
		attribute.String("stargate.handle", h.Kind),
	}
	if h.Subscription != "" {
		kv = append(kv, attribute.String("messaging.consumer.group.name", h.Subscription))
	}
	v, _ := o.attrs.LoadOrStore(h, metric.WithAttributeSet(attribute.NewSet(kv...)))
	return v.(metric.MeasurementOption)
}

func spanAttrs(h stargate.HandleInfo, op string) []attribute.KeyValue {
	kv := []attribute.KeyValue{
		attribute.String("messaging.system", "pulsar"),
		attribute.String("messaging.destination.name", h.Topic),
		attribute.String("messaging.operation.name", op),
	}
	if h.Subscription != "" {
		kv = append(kv, attribute.String("messaging.consumer.group.name", h.Subscription))
	}
	return kv
}

// ErrorType classifies a stargate error for the error.type attribute:
// "timeout" (ErrSendTimeout), "closed" (ErrClosed), "topic_terminated",
// "send_error" (another *SendError), "connect_<status>" (a *ConnectError,
// e.g. "connect_401"), "proxy" (a *ProxyError), "close_<code>" (a
// *CloseError), "message_too_large", "protocol" (a *ProtocolError),
// "invalid_argument" (an *ArgError), "canceled" and "deadline_exceeded"
// (ctx errors), "transport" for anything else.
func ErrorType(err error) string {
	var (
		ce *stargate.ConnectError
		se *stargate.SendError
		cl *stargate.CloseError
		pe *stargate.ProxyError
		pr *stargate.ProtocolError
	)
	switch {
	case errors.Is(err, stargate.ErrSendTimeout):
		return "timeout"
	case errors.Is(err, stargate.ErrClosed):
		return "closed"
	case errors.Is(err, stargate.ErrTopicTerminated):
		return "topic_terminated"
	case errors.As(err, &se):
		return "send_error"
	case errors.As(err, &pe):
		return "proxy"
	case errors.As(err, &ce):
		return "connect_" + strconv.Itoa(ce.StatusCode)
	case errors.As(err, &cl):
		return "close_" + strconv.Itoa(cl.Code)
	case errors.Is(err, stargate.ErrMessageTooLarge):
		return "message_too_large"
	case errors.As(err, &pr):
		return "protocol"
	case errors.Is(err, stargate.ErrInvalidArgument):
		return "invalid_argument"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline_exceeded"
	}
	return "transport"
}

var _ stargate.Observer = (*Observer)(nil)
