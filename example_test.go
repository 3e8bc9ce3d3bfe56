package stargate_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/sourcegraph/conc/stream"
	"golang.org/x/sync/errgroup"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/stargatetest"
)

// fakeBroker starts an in-process Pulsar WebSocket broker, so that the
// examples run anywhere; point NewClient at a real Pulsar instead.
func fakeBroker() (*stargatetest.Server, *stargate.Client) {
	srv, err := stargatetest.NewServer(nil)
	if err != nil {
		log.Fatal(err)
	}
	client, err := stargate.NewClient(srv.URL(), nil)
	if err != nil {
		log.Fatal(err)
	}
	return srv, client
}

func ExampleProducer_Send() {
	srv, client := fakeBroker()
	defer srv.Close()
	ctx := context.Background()

	p, err := client.NewProducer(ctx, "persistent://public/default/orders", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	// Send returns at once; the future completes when the broker acknowledges.
	var futs []*stargate.SendFuture
	for i := range 3 {
		futs = append(futs, p.Send(ctx, stargate.Message{
			Key:        "customer-42",
			Payload:    fmt.Appendf(nil, "order %d", i),
			Properties: map[string]string{"source": "example"},
		}))
	}
	for _, f := range futs {
		id, err := f.Wait(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("stored:", !id.IsZero())
	}
	// Output:
	// stored: true
	// stored: true
	// stored: true
}

func ExampleConsumer_Messages() {
	srv, client := fakeBroker()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	c, err := client.NewConsumer(ctx, "orders", "billing", &stargate.ConsumerOptions{Type: stargate.Shared})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if _, err := client.Produce(ctx, "orders", nil,
		stargate.Message{Payload: []byte("hello")}, stargate.Message{Payload: []byte("world")}); err != nil {
		log.Fatal(err)
	}

	n := 0
	for msg, err := range c.Messages(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s from %s\n", msg.Payload, msg.Topic)
		if err := msg.Ack(ctx); err != nil {
			log.Fatal(err)
		}
		if n++; n == 2 {
			break // the subscription stays; ranging again resumes
		}
	}
	// Output:
	// hello from persistent://public/default/orders
	// world from persistent://public/default/orders
}

// Handlers run in parallel, at most 8 at a time: when the group is full,
// g.Go blocks, the loop stops asking, and in pull mode no permits go to
// the broker.
func ExampleConsumer_Messages_errgroup() {
	srv, client := fakeBroker()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	c, err := client.NewConsumer(ctx, "jobs", "workers", &stargate.ConsumerOptions{PullMode: true, PullWindow: 16})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	sendN(ctx, client, "jobs", 20)

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	done := 0
	for msg, err := range c.Messages(gctx) {
		if err != nil {
			break
		}
		g.Go(func() error {
			// handle(msg) ...
			return msg.Ack(gctx)
		})
		if done++; done == 20 {
			break
		}
	}
	if err := g.Wait(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("handled", done)
	// Output: handled 20
}

// Handle in parallel, acknowledge in the order received: conc's stream runs
// the callbacks one at a time in submission order.
func ExampleConsumer_Messages_inOrder() {
	srv, client := fakeBroker()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	c, err := client.NewConsumer(ctx, "events", "ordered", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	sendN(ctx, client, "events", 5)

	s := stream.New().WithMaxGoroutines(4)
	n := 0
	for msg, err := range c.Messages(ctx) {
		if err != nil {
			break
		}
		s.Go(func() stream.Callback {
			result := len(msg.Payload) // handle(msg) in parallel
			return func() {
				fmt.Println(string(msg.Payload), result) // in order
				_ = msg.Ack(ctx)
			}
		})
		if n++; n == 5 {
			break
		}
	}
	s.Wait()
	// Output:
	// m0 2
	// m1 2
	// m2 2
	// m3 2
	// m4 2
}

func ExampleReader_Messages() {
	srv, client := fakeBroker()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sendN(ctx, client, "audit", 3)

	r, err := client.NewReader(ctx, "audit", &stargate.ReaderOptions{Start: stargate.Earliest})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	n := 0
	for msg, err := range r.Messages(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(string(msg.Payload))
		if n++; n == 3 {
			break
		}
	}
	// Output:
	// m0
	// m1
	// m2
}

func ExampleSendFuture_Wait() {
	srv, client := fakeBroker()
	defer srv.Close()
	ctx := context.Background()
	p, err := client.NewProducer(ctx, "persistent://public/default/orders", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	srv.WithholdAcks(true) // the broker is slow to acknowledge
	f := p.Send(ctx, stargate.Message{Payload: []byte("slow")})
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = f.Wait(short) // ctx bounds the wait only: the send goes on
	fmt.Println(errors.Is(err, context.DeadlineExceeded))

	srv.WithholdAcks(false)
	id, err := f.Wait(ctx) // the same future, waited for again
	fmt.Println(!id.IsZero(), err)
	// Output:
	// true
	// true <nil>
}

func ExampleClient_Produce() {
	srv, client := fakeBroker()
	defer srv.Close()
	ids, err := client.Produce(context.Background(), "persistent://public/default/once", nil,
		stargate.Message{Payload: []byte("a")}, stargate.Message{Payload: []byte("b")})
	fmt.Println(len(ids), err)
	// Output: 2 <nil>
}

func ExampleDecode() {
	srv, client := fakeBroker()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	type order struct {
		ID    int     `json:"id"`
		Total float64 `json:"total"`
	}
	c, err := client.NewConsumer(ctx, "typed", "sub", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	p, err := client.NewProducer(ctx, "typed", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	m, _ := stargate.Encode(stargate.JSON[order]{}, order{ID: 7, Total: 9.5}, stargate.Message{Key: "7"})
	if _, err := p.Send(ctx, m).Wait(ctx); err != nil {
		log.Fatal(err)
	}
	for d, err := range stargate.Decode(stargate.JSON[order]{}, c.Messages(ctx)) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("order %d: %.2f\n", d.Value.ID, d.Value.Total)
		_ = d.Ack(ctx)
		break
	}
	// Output: order 7: 9.50
}

func ExampleConsumer_Batches() {
	srv, client := fakeBroker()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.NewConsumer(ctx, "bulk", "loader", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	sendN(ctx, client, "bulk", 10)
	total := 0
	for batch, err := range c.Batches(ctx, 4, 200*time.Millisecond) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("batch of", len(batch))
		for _, m := range batch {
			_ = m.Ack(ctx)
		}
		if total += len(batch); total == 10 {
			break
		}
	}
	// Output:
	// batch of 4
	// batch of 4
	// batch of 2
}

func sendN(ctx context.Context, client *stargate.Client, topic string, n int) {
	p, err := client.NewProducer(ctx, topic, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	for i := range n {
		p.Send(ctx, stargate.Message{Payload: fmt.Appendf(nil, "m%d", i)})
	}
	if err := p.Flush(ctx); err != nil {
		log.Fatal(err)
	}
}
