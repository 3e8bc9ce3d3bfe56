package stargate_test

import (
	"context"
	"errors"
	"iter"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/stargatetest"
)

// A message over ClientOptions.MaxMessageSize ends the consumer or reader
// with ErrMessageTooLarge: the broker would redeliver it on every reconnect,
// so reconnecting loops forever without a message or an error. A client with
// a larger limit reads it.
func TestMessageOverReadLimitEndsHandle(t *testing.T) {
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const topic = "inbound-limit"
	for _, n := range []int{10, 100_000} { // frames of ~0.1 and ~133 KB
		if _, err := srv.Publish(topic, stargatetest.Message{Payload: make([]byte, n)}); err != nil {
			t.Fatal(err)
		}
	}
	opts := fastReconnect
	opts.MaxMessageSize = 64 << 10
	small, _ := stargate.NewClient(srv.URL(), &opts)
	c, err := small.NewConsumer(ctx, topic, "s", &stargate.ConsumerOptions{InitialPosition: stargate.Earliest})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := small.NewReader(ctx, topic, &stargate.ReaderOptions{Start: stargate.Earliest})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	check := func(name string, seq func(context.Context) iter.Seq2[stargate.Message, error]) {
		rctx, stop := context.WithTimeout(ctx, 5*time.Second)
		defer stop()
		var got []int
		var last error
		for m, err := range seq(rctx) {
			if err != nil {
				last = err
				break
			}
			got = append(got, len(m.Payload))
			if name == "consumer" {
				_ = m.Ack(rctx)
			}
		}
		// The small message may have been dropped with the queue when the
		// connection was lost (it stays unacknowledged on the broker).
		if len(got) > 1 || len(got) == 1 && got[0] != 10 || !errors.Is(last, stargate.ErrMessageTooLarge) {
			t.Errorf("%s: read %v, ended with %v; want at most [10], then ErrMessageTooLarge", name, got, last)
		}
	}
	check("consumer", c.Messages)
	check("reader", r.Messages)

	big, _ := stargate.NewClient(srv.URL(), nil)
	r2, err := big.NewReader(ctx, topic, &stargate.ReaderOptions{Start: stargate.Earliest})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	n := 0
	for m, err := range r2.Messages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 2 {
			if len(m.Payload) != 100_000 {
				t.Errorf("the big message read as %d bytes", len(m.Payload))
			}
			break
		}
	}
}
