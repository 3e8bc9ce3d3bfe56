package stargate_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/stargatetest"
)

// waitFor polls cond until it holds or the test's patience runs out.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func sendAndWait(t *testing.T, ctx context.Context, p *stargate.Producer, n int, prefix string) {
	t.Helper()
	futs := make([]*stargate.SendFuture, n)
	for i := range futs {
		futs[i] = p.Send(ctx, stargate.Message{Payload: []byte(prefix + strconv.Itoa(i))})
	}
	for i, f := range futs {
		if _, err := f.Wait(ctx); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
}

// A producer's counters follow its futures, across a dropped connection
// and a reconnect, and a failed send is its last error.
func TestProducerStats(t *testing.T) {
	t.Parallel()
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client, _ := stargate.NewClient(srv.URL(), &fastReconnect)
	p, err := client.NewProducer(ctx, "stats-p", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if s := p.Stats(); s != (stargate.ProducerStats{}) {
		t.Fatalf("fresh producer: %+v", s)
	}
	sendAndWait(t, ctx, p, 5, "a")
	if s := p.Stats(); s.Sent != 5 || s.SentBytes != 10 || s.Acked != 5 || s.Failed != 0 || s.Pending != 0 || s.LastError != nil {
		t.Fatalf("after 5 sends: %+v", s)
	}

	// Two sends whose acks are held are pending; after a drop they are
	// resent on the new connection, and not counted again.
	srv.WithholdAcks(true)
	f1 := p.Send(ctx, stargate.Message{Payload: []byte("held1")})
	f2 := p.Send(ctx, stargate.Message{Payload: []byte("held2")})
	waitFor(t, "2 pending", func() bool { return p.Stats().Pending == 2 })
	before := time.Now()
	srv.DropConnections("")
	srv.WithholdAcks(false)
	waitFor(t, "a reconnect", func() bool { return p.Stats().Reconnects == 1 })
	for _, f := range []*stargate.SendFuture{f1, f2} {
		if _, err := f.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	s := p.Stats()
	if s.Sent != 7 || s.Acked != 7 || s.Pending != 0 || s.Reconnects != 1 {
		t.Fatalf("after a reconnect: %+v", s)
	}
	if s.LastError == nil || s.LastErrorTime.Before(before) {
		t.Fatalf("the lost connection is not the last error: %v at %v", s.LastError, s.LastErrorTime)
	}

	srv.FailNextSends(1, 8, "disk full")
	_, err = p.Send(ctx, stargate.Message{Payload: []byte("x")}).Wait(ctx)
	var se *stargate.SendError
	if !errors.As(err, &se) {
		t.Fatalf("send: %v, want a *SendError", err)
	}
	s = p.Stats()
	if s.Sent != 8 || s.Acked != 7 || s.Failed != 1 || s.Pending != 0 || !errors.As(s.LastError, &se) {
		t.Fatalf("after a failed send: %+v", s)
	}
	// Refused at admission: not counted.
	done, stop := context.WithCancel(ctx)
	stop()
	p.Send(done, stargate.Message{})
	p.Close()
	if s2 := p.Stats(); s2.Sent != 8 || s2.LastError != s.LastError {
		t.Fatalf("after Close: %+v, want Sent 8 and the same last error", s2)
	}
}

// A consumer counts what it handed to the loop, redeliveries and the
// loop's acks and nacks; a reader counts what it yielded.
func TestConsumerAndReaderStats(t *testing.T) {
	t.Parallel()
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client, _ := stargate.NewClient(srv.URL(), &fastReconnect)
	c, err := client.NewConsumer(ctx, "stats-c", "sub", &stargate.ConsumerOptions{
		Type: stargate.Shared, NackRedeliveryDelay: -1, PullMode: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := client.NewReader(ctx, "stats-c", &stargate.ReaderOptions{Start: stargate.Earliest})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p, err := client.NewProducer(ctx, "stats-c", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	sendAndWait(t, ctx, p, 3, "m")

	// Ack the first two, nack the third, then ack its redelivery.
	n := 0
	for m, err := range c.Messages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n == 3 {
			if err := m.Nack(ctx); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := m.Ack(ctx); err != nil {
			t.Fatal(err)
		}
		if n == 4 {
			if m.RedeliveryCount == 0 {
				t.Fatalf("4th message %q not a redelivery", m.Payload)
			}
			break
		}
	}
	s := c.Stats()
	if s.Received != 4 || s.ReceivedBytes != 8 || s.Redelivered != 1 || s.Acked != 3 || s.Nacked != 1 || s.Reconnects != 0 {
		t.Fatalf("consumer: %+v", s)
	}
	if err := (stargate.Message{}).Ack(ctx); !errors.Is(err, stargate.ErrInvalidMessage) {
		t.Fatal(err)
	}

	srv.DropConnections("")
	waitFor(t, "the consumer's reconnect", func() bool { return c.Stats().Reconnects == 1 })
	waitFor(t, "the reader's reconnect", func() bool { return r.Stats().Reconnects == 1 })
	if s := c.Stats(); s.LastError == nil || s.Acked != 3 {
		t.Fatalf("consumer after the drop: %+v", s)
	}

	got := 0
	for _, err := range r.Messages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if got++; got == 3 {
			break
		}
	}
	if s := r.Stats(); s.Received != 3 || s.ReceivedBytes != 6 || s.Reconnects != 1 || s.LastError == nil {
		t.Fatalf("reader: %+v", s)
	}
}
