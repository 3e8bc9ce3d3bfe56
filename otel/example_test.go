package otel_test

import (
	"context"
	"fmt"

	"github.com/stargate-go/stargate"
	stargateotel "github.com/stargate-go/stargate/otel"
	"github.com/stargate-go/stargate/stargatetest"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// An Observer from the application's providers goes into ClientOptions;
// every handle of the Client is then traced and measured. Here the
// providers export to memory, and the fake broker of stargatetest stands in
// for Pulsar.
func ExampleNewObserver() {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer tp.Shutdown(context.Background())
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer mp.Shutdown(context.Background())

	obs, err := stargateotel.NewObserver(&stargateotel.Options{TracerProvider: tp, MeterProvider: mp})
	if err != nil {
		panic(err)
	}
	srv, err := stargatetest.NewServer(nil)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	client, err := stargate.NewClient(srv.URL(), &stargate.ClientOptions{Observer: obs})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	cons, err := client.NewConsumer(ctx, "orders", "billing", nil)
	if err != nil {
		panic(err)
	}
	defer cons.Close()
	prod, err := client.NewProducer(ctx, "orders", nil)
	if err != nil {
		panic(err)
	}
	defer prod.Close()

	if _, err := prod.Send(ctx, stargate.Message{Payload: []byte("order 17")}).Wait(ctx); err != nil {
		panic(err)
	}
	for msg, err := range cons.Messages(ctx) {
		if err != nil {
			panic(err)
		}
		// A handler continues the producer's trace from the message.
		_ = obs.Extract(ctx, msg)
		_ = msg.Ack(ctx)
		fmt.Println("traceparent set:", msg.Properties["traceparent"] != "")
		break
	}
	got := spans.GetSpans()
	for _, s := range got {
		fmt.Println(s.SpanKind, s.Name)
	}
	fmt.Println("one trace:", got[0].SpanContext.TraceID() == got[1].SpanContext.TraceID())
	// Output:
	// traceparent set: true
	// producer send persistent://public/default/orders
	// consumer receive persistent://public/default/orders
	// one trace: true
}
