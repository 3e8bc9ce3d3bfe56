// Command quickstart produces messages with futures and consumes them with
// an errgroup fan-out, then prints what it did and how fast.
//
// It talks to the Pulsar named by STARGATE_PULSAR_URL (a ws:// or wss://
// base URL, with STARGATE_PULSAR_TOKEN if the broker needs one). When that
// is unset it starts stargatetest, the in-process fake broker, and says so.
//
//	go run ./examples/quickstart [-n 20000] [-workers 16] [-size 100]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/stargatetest"
)

func main() {
	n := flag.Int("n", 20000, "messages to produce and consume")
	workers := flag.Int("workers", 16, "concurrent handlers")
	size := flag.Int("size", 100, "payload bytes")
	flag.Parse()
	if err := run(*n, *workers, *size); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(n, workers, size int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	url, token := os.Getenv("STARGATE_PULSAR_URL"), os.Getenv("STARGATE_PULSAR_TOKEN")
	if url == "" {
		srv, err := stargatetest.NewServer(nil)
		if err != nil {
			return err
		}
		defer srv.Close()
		url = srv.URL()
		fmt.Printf("no STARGATE_PULSAR_URL: using the embedded stargatetest broker at %s\n", url)
	} else {
		fmt.Printf("using the Pulsar at %s\n", url)
	}
	client, err := stargate.NewClient(url, &stargate.ClientOptions{Token: token})
	if err != nil {
		return err
	}
	topic := "persistent://public/default/quickstart-" + strconv.FormatInt(time.Now().UnixNano(), 36)

	// Subscribe first, so that the consumer sees every message.
	cons, err := client.NewConsumer(ctx, topic, "quickstart", &stargate.ConsumerOptions{
		Type: stargate.Shared, PullMode: true, PullWindow: 500})
	if err != nil {
		return err
	}
	defer cons.Close()
	prod, err := client.NewProducer(ctx, topic, nil)
	if err != nil {
		return err
	}
	defer prod.Close()

	// Produce: Send returns a future at once; the producer's window bounds
	// what is in flight.
	start := time.Now()
	payload := make([]byte, size)
	futs := make([]*stargate.SendFuture, n)
	for i := range futs {
		futs[i] = prod.Send(ctx, stargate.Message{
			Key:        "key-" + strconv.Itoa(i%32),
			Payload:    payload,
			Properties: map[string]string{"seq": strconv.Itoa(i)},
		})
	}
	for _, f := range futs {
		if _, err := f.Wait(ctx); err != nil {
			return fmt.Errorf("send: %w", err)
		}
	}
	produced := time.Since(start)
	fmt.Printf("produced %d messages of %d bytes to %s in %v (%.0f msg/s)\n",
		n, size, topic, produced.Round(time.Millisecond), float64(n)/produced.Seconds())

	// Consume: handlers run on an errgroup limited to workers; when it is
	// full the loop blocks and no more permits go to the broker.
	start = time.Now()
	var handled atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	received := 0
	for msg, err := range cons.Messages(gctx) {
		if err != nil {
			return err
		}
		g.Go(func() error {
			if len(msg.Payload) != size {
				return errors.New("payload changed in transit")
			}
			handled.Add(1)
			return msg.Ack(gctx)
		})
		if received++; received == n {
			break
		}
	}
	if err := g.Wait(); err != nil {
		return err
	}
	consumed := time.Since(start)
	fmt.Printf("consumed and acknowledged %d messages with %d workers in %v (%.0f msg/s)\n",
		handled.Load(), workers, consumed.Round(time.Millisecond), float64(n)/consumed.Seconds())
	return nil
}
