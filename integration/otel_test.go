package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/dockertest"
	stargateotel "github.com/stargate-go/stargate/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// The otel module against the real broker: the trace context a producer
// puts in the traceparent property survives Pulsar 4.0.8's WebSocket
// service, so the consumer's receive span is the child of the producer's
// send span; the sent and received counters match.
func TestOTelThroughRealBroker(t *testing.T) {
	b := dockertest.Require(t, dockertest.Plain)
	spans, reader := tracetest.NewInMemoryExporter(), sdkmetric.NewManualReader()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer tp.Shutdown(context.Background())
	defer mp.Shutdown(context.Background())
	obs, err := stargateotel.NewObserver(&stargateotel.Options{TracerProvider: tp, MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	client, err := stargate.NewClient(b.WSURL, &stargate.ClientOptions{Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	topic := dockertest.UniqueTopic(t)
	cons, err := client.NewConsumer(ctx, topic, "traced", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	prod, err := client.NewProducer(ctx, topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()

	const n = 5
	sctx, parent := tp.Tracer("test").Start(ctx, "request")
	for i := range n {
		if _, err := prod.Send(sctx, stargate.Message{Payload: []byte{byte('a' + i)}, Properties: map[string]string{"k": "v"}}).Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	parent.End()
	var got []stargate.Message
	for m, err := range cons.Messages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
		if err := m.Ack(ctx); err != nil {
			t.Fatal(err)
		}
		if len(got) == n {
			break
		}
	}
	for _, m := range got {
		if tp := m.Properties["traceparent"]; !strings.HasPrefix(tp, "00-"+parent.SpanContext().TraceID().String()+"-") || m.Properties["k"] != "v" {
			t.Fatalf("properties %v, want the caller's trace %s and k=v", m.Properties, parent.SpanContext().TraceID())
		}
	}
	sends := map[trace.SpanID]bool{}
	var recvs []tracetest.SpanStub
	for _, sp := range spans.GetSpans() {
		switch sp.Name {
		case "send " + topic:
			sends[sp.SpanContext.SpanID()] = sp.Parent.SpanID() == parent.SpanContext().SpanID()
		case "receive " + topic:
			recvs = append(recvs, sp)
		}
	}
	if len(sends) != n || len(recvs) != n {
		t.Fatalf("%d send and %d receive spans, want %d each", len(sends), len(recvs), n)
	}
	for _, r := range recvs {
		if childOfCaller, ok := sends[r.Parent.SpanID()]; !ok || !childOfCaller || r.SpanContext.TraceID() != parent.SpanContext().TraceID() {
			t.Errorf("receive span %s (parent %s) is not the child of a send span of the caller's trace", r.SpanContext.SpanID(), r.Parent.SpanID())
		}
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if d, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, p := range d.DataPoints {
					counts[m.Name] += p.Value
				}
			}
		}
	}
	t.Logf("counters: %v", counts)
	for _, name := range []string{"stargate.sent.messages", "stargate.received.messages", "stargate.acked.messages"} {
		if counts[name] != n {
			t.Errorf("%s = %d, want %d", name, counts[name], n)
		}
	}
}
