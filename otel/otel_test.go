package otel_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	stargateotel "github.com/stargate-go/stargate/otel"
	"github.com/stargate-go/stargate/stargatetest"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// setup returns a client observed through in-memory exporters.
type setup struct {
	spans  *tracetest.InMemoryExporter
	reader *sdkmetric.ManualReader
	tp     *sdktrace.TracerProvider
	obs    *stargateotel.Observer
	srv    *stargatetest.Server
	client *stargate.Client
	ctx    context.Context
}

func newSetup(t *testing.T) *setup {
	t.Helper()
	s := &setup{spans: tracetest.NewInMemoryExporter(), reader: sdkmetric.NewManualReader()}
	s.tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(s.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(s.reader))
	t.Cleanup(func() {
		_ = s.tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	var err error
	s.obs, err = stargateotel.NewObserver(&stargateotel.Options{TracerProvider: s.tp, MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	s.srv = stargatetest.New(t, nil)
	s.client, err = stargate.NewClient(s.srv.URL(), &stargate.ClientOptions{
		Observer: s.obs, ReconnectDelay: 5 * time.Millisecond, MaxReconnectDelay: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	s.ctx = ctx
	return s
}

// sum returns the sum of the points of the named counter (or the count of
// a histogram) whose attributes include match.
func (s *setup) sum(t *testing.T, name string, match ...attribute.KeyValue) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := s.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					if hasAll(p.Attributes, match) {
						n += p.Value
					}
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					if hasAll(p.Attributes, match) {
						n += int64(p.Count)
					}
				}
			}
		}
	}
	return n
}

func hasAll(set attribute.Set, kvs []attribute.KeyValue) bool {
	for _, kv := range kvs {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}

// A send and its delivery give a producer span and a consumer span of one
// trace, the consumer's the child of the producer's, which is the child of
// the caller's span; the trace context travels in the traceparent
// property; the counters match what happened.
func TestSendReceiveTrace(t *testing.T) {
	s := newSetup(t)
	const topic = "persistent://public/default/traced"
	cons, err := s.client.NewConsumer(s.ctx, topic, "sub", &stargate.ConsumerOptions{PullMode: true, PullWindow: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	prod, err := s.client.NewProducer(s.ctx, topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()

	ctx, parent := s.tp.Tracer("test").Start(s.ctx, "request")
	for _, p := range []string{"hello", "world"} {
		if _, err := prod.Send(ctx, stargate.Message{Payload: []byte(p)}).Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	parent.End()
	var got []stargate.Message
	for m, err := range cons.Messages(s.ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
		if len(got) == 1 {
			if err := m.Ack(s.ctx); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := m.Nack(s.ctx); err != nil {
			t.Fatal(err)
		}
		break
	}
	tp := got[0].Properties["traceparent"]
	if !strings.HasPrefix(tp, "00-"+parent.SpanContext().TraceID().String()+"-") {
		t.Fatalf("traceparent %q, want the caller's trace %s", tp, parent.SpanContext().TraceID())
	}
	if sc := trace.SpanContextFromContext(s.obs.Extract(context.Background(), got[0])); sc.TraceID() != parent.SpanContext().TraceID() {
		t.Fatalf("Extract gave trace %s", sc.TraceID())
	}

	byName := map[string][]tracetest.SpanStub{}
	for _, sp := range s.spans.GetSpans() {
		byName[sp.Name] = append(byName[sp.Name], sp)
	}
	sends, recvs := byName["send "+topic], byName["receive "+topic]
	if len(sends) != 2 || len(recvs) != 2 {
		t.Fatalf("spans %v, want 2 send and 2 receive spans", keys(byName))
	}
	for i := range sends {
		snd, rcv := sends[i], recvs[i]
		if snd.SpanKind != trace.SpanKindProducer || rcv.SpanKind != trace.SpanKindConsumer {
			t.Errorf("kinds %v, %v", snd.SpanKind, rcv.SpanKind)
		}
		if snd.Parent.SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("send span's parent %s, want the caller's span", snd.Parent.SpanID())
		}
		if rcv.SpanContext.TraceID() != snd.SpanContext.TraceID() || rcv.Parent.SpanID() != snd.SpanContext.SpanID() {
			t.Errorf("receive span %s/%s (parent %s) is not the child of send span %s/%s",
				rcv.SpanContext.TraceID(), rcv.SpanContext.SpanID(), rcv.Parent.SpanID(), snd.SpanContext.TraceID(), snd.SpanContext.SpanID())
		}
		if !hasAll(attribute.NewSet(snd.Attributes...), []attribute.KeyValue{
			attribute.String("messaging.system", "pulsar"), attribute.String("messaging.destination.name", topic)}) {
			t.Errorf("send span attributes %v", snd.Attributes)
		}
	}

	prodAttr := attribute.String("stargate.handle", "producer")
	for _, c := range []struct {
		name string
		want int64
	}{
		{"stargate.sent.messages", 2},
		{"stargate.sent.bytes", 10},
		{"stargate.send.duration", 2},
		{"stargate.send.inflight", 0},
		{"stargate.received.messages", 2},
		{"stargate.received.bytes", 10},
		{"stargate.acked.messages", 1},
		{"stargate.acked.bytes", 5},
		{"stargate.nacked.messages", 1},
		{"stargate.errors", 0},
	} {
		if n := s.sum(t, c.name); n != c.want {
			t.Errorf("%s = %d, want %d", c.name, n, c.want)
		}
	}
	if n := s.sum(t, "stargate.sent.messages", prodAttr, attribute.String("messaging.destination.name", topic)); n != 2 {
		t.Errorf("sent.messages of the producer = %d", n)
	}
	if n := s.sum(t, "stargate.permits", attribute.String("messaging.consumer.group.name", "sub")); n < 10 {
		t.Errorf("permits %d, want at least the window", n)
	}
}

// Reconnects are counted, and failed sends are errors by kind on the
// span, the histogram and the error counter.
func TestReconnectsAndErrors(t *testing.T) {
	s := newSetup(t)
	prod, err := s.client.NewProducer(s.ctx, "errs", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	s.srv.FailNextSends(1, 8, "disk full")
	_, err = prod.Send(s.ctx, stargate.Message{Payload: []byte("x")}).Wait(s.ctx)
	var se *stargate.SendError
	if !errors.As(err, &se) {
		t.Fatalf("send: %v", err)
	}
	kind := attribute.String("error.type", "send_error")
	if n := s.sum(t, "stargate.errors", kind, attribute.String("stargate.operation", "send")); n != 1 {
		t.Errorf("send errors = %d, want 1", n)
	}
	if n := s.sum(t, "stargate.send.duration", kind); n != 1 {
		t.Errorf("failed sends in the histogram = %d, want 1", n)
	}
	spans := s.spans.GetSpans()
	if len(spans) != 1 || spans[0].Status.Code.String() != "Error" {
		t.Fatalf("spans %+v, want one failed send span", spans)
	}

	s.srv.DropConnections("")
	deadline := time.Now().Add(10 * time.Second)
	for s.sum(t, "stargate.reconnects") < 1 {
		if time.Now().After(deadline) {
			t.Fatal("no reconnect counted")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := s.sum(t, "stargate.errors", attribute.String("stargate.operation", "connection_lost")); n != 1 {
		t.Errorf("lost connections = %d, want 1", n)
	}
}

func TestErrorType(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{stargate.ErrSendTimeout, "timeout"},
		{stargate.ErrClosed, "closed"},
		{&stargate.SendError{Code: 8, Msg: "x"}, "send_error"},
		{&stargate.ConnectError{StatusCode: 401}, "connect_401"},
		{&stargate.CloseError{Code: 1011}, "close_1011"},
		{context.Canceled, "canceled"},
		{errors.New("connection reset"), "transport"},
	} {
		if got := stargateotel.ErrorType(c.err); got != c.want {
			t.Errorf("ErrorType(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// A message from another client (a Java producer instrumented with
// OpenTelemetry, say) carries its span in the traceparent property; the
// receive span continues that trace as its child.
func TestReceiveContinuesForeignTrace(t *testing.T) {
	s := newSetup(t)
	const (
		traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		spanID  = "00f067aa0ba902b7"
	)
	cons, err := s.client.NewConsumer(s.ctx, "foreign", "sub", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	plain, err := stargate.NewClient(s.srv.URL(), nil) // no observer: the property goes as given
	if err != nil {
		t.Fatal(err)
	}
	prod, err := plain.NewProducer(s.ctx, "foreign", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	props := map[string]string{"traceparent": "00-" + traceID + "-" + spanID + "-01", "tracestate": "vendor=1"}
	if _, err := prod.Send(s.ctx, stargate.Message{Payload: []byte("from java"), Properties: props}).Wait(s.ctx); err != nil {
		t.Fatal(err)
	}
	for _, err := range cons.Messages(s.ctx) {
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	spans := s.spans.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want the one receive span", len(spans))
	}
	sp := spans[0]
	if sp.SpanContext.TraceID().String() != traceID || sp.Parent.SpanID().String() != spanID || !sp.Parent.IsRemote() {
		t.Fatalf("receive span in trace %s with parent %s (remote %v), want %s/%s",
			sp.SpanContext.TraceID(), sp.Parent.SpanID(), sp.Parent.IsRemote(), traceID, spanID)
	}
	if got := sp.SpanContext.TraceState().Get("vendor"); got != "1" {
		t.Errorf("tracestate vendor=%q, want 1", got)
	}
}
