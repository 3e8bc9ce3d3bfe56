package stargate_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/stargatetest"
)

var fastReconnect = stargate.ClientOptions{ReconnectDelay: 5 * time.Millisecond, MaxReconnectDelay: 50 * time.Millisecond}

// syncBuffer is a log sink safe for the handles' goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A token that stops working ends the handle with a typed 401 after one
// attempt, instead of a reconnect storm; the provider is asked at every
// dial; no error or log line shows the token.
func TestReconnectTerminalAuthFailure(t *testing.T) {
	const good, revoked = "good-token-9f8e7d", "revoked-token-1a2b3c"
	srv := stargatetest.New(t, &stargatetest.Options{Tokens: map[string]string{good: "app"}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var calls atomic.Int32
	var logs syncBuffer
	opts := fastReconnect
	opts.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.TokenProvider = func(context.Context) (string, error) {
		if calls.Add(1) == 1 {
			return good, nil
		}
		return revoked, nil
	}
	client, _ := stargate.NewClient(srv.URL(), &opts)
	c, err := client.NewConsumer(ctx, "secure", "s", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv.DropConnections("")
	var last error
	for _, err := range c.Messages(ctx) {
		last = err
	}
	var ce *stargate.ConnectError
	if !errors.As(last, &ce) || ce.StatusCode != 401 || !errors.Is(last, stargate.ErrUnauthorized) {
		t.Fatalf("range ended with %v, want a 401 *ConnectError", last)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("token provider asked %d times, want 2 (first dial, one reconnect)", n)
	}
	for _, s := range []string{last.Error(), logs.String()} {
		if strings.Contains(s, revoked) || strings.Contains(s, good) {
			t.Errorf("token leaked: %s", s)
		}
	}
	// The same error, once, on every later range; the producer side too.
	for _, err := range c.Messages(ctx) {
		if !errors.Is(err, stargate.ErrUnauthorized) {
			t.Errorf("second range: %v", err)
		}
	}
}

func TestReconnectProducerResendsInOrder(t *testing.T) {
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client, _ := stargate.NewClient(srv.URL(), &fastReconnect)
	p, err := client.NewProducer(ctx, "resend", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	srv.WithholdAcks(true)
	var futs []*stargate.SendFuture
	for i := range 50 {
		futs = append(futs, p.Send(ctx, stargate.Message{Payload: []byte{byte(i)}}))
	}
	time.Sleep(100 * time.Millisecond)
	srv.WithholdAcks(false)
	srv.DropConnections("") // acks withheld so far are lost with the socket
	for i, f := range futs {
		if _, err := f.Wait(ctx); err != nil {
			t.Fatalf("future %d: %v", i, err)
		}
	}
	stored, err := srv.Messages("resend")
	if err != nil {
		t.Fatal(err)
	}
	// At-least-once: every message is stored; those whose acks were lost are
	// stored again after the first 50, in their original order.
	last := -1
	seen := map[byte]bool{}
	for _, m := range stored {
		seen[m.Payload[0]] = true
	}
	if len(seen) != 50 {
		t.Fatalf("%d distinct messages stored, want 50", len(seen))
	}
	for _, m := range stored[50:] {
		if int(m.Payload[0]) <= last {
			t.Fatalf("re-sent out of order: %d after %d", m.Payload[0], last)
		}
		last = int(m.Payload[0])
	}
}

func TestReconnectMovesToNextServiceURL(t *testing.T) {
	a, b := stargatetest.New(t, nil), stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client, err := stargate.NewClient(a.URL()+","+strings.TrimPrefix(b.URL(), "ws://"), &fastReconnect)
	if err != nil {
		t.Fatal(err)
	}
	p, err := client.NewProducer(ctx, "moving", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Send(ctx, stargate.Message{Payload: []byte("on a")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	a.Close() // the node is gone for good
	if _, err := p.Send(ctx, stargate.Message{Payload: []byte("on b")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := b.Stats("moving"); err != nil || st.MsgIn != 1 {
		t.Fatalf("second node stored %+v, %v", st, err)
	}
}

func TestReaderResumesWithoutGapOrRepeat(t *testing.T) {
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client, _ := stargate.NewClient(srv.URL(), &fastReconnect)
	for i := range 200 {
		if _, err := srv.Publish("log", stargatetest.Message{Payload: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := client.NewReader(ctx, "log", &stargate.ReaderOptions{Start: stargate.Earliest, ReceiverQueueSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	next := 0
	for m, err := range r.Messages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if int(m.Payload[0]) != next {
			t.Fatalf("got %d, want %d", m.Payload[0], next)
		}
		if next++; next == 200 {
			break
		}
		if next%37 == 0 {
			srv.DropConnections("")
		}
	}
}

func TestConsumerRedeliversAfterDrop(t *testing.T) {
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client, _ := stargate.NewClient(srv.URL(), &fastReconnect)
	c, err := client.NewConsumer(ctx, "redeliver", "s", &stargate.ConsumerOptions{PullMode: true, PullWindow: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 100 {
		srv.Publish("redeliver", stargatetest.Message{Payload: []byte{byte(i)}})
	}
	seen := map[byte]int{}
	n := 0
	for m, err := range c.Messages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		seen[m.Payload[0]]++
		if m.Payload[0]%3 != 0 { // leave some unacked: they must come back
			_ = m.Ack(ctx)
		}
		if n++; n == 25 || n == 50 || n == 75 {
			srv.DropConnections("")
		}
		if len(seen) == 100 && seen[99] > 0 {
			break
		}
	}
	for i := range 100 {
		if seen[byte(i)] == 0 {
			t.Fatalf("message %d never delivered", i)
		}
	}
	if seen[3] < 2 {
		t.Errorf("unacknowledged message 3 was delivered %d times, want a redelivery", seen[3])
	}
}

func TestFirstDialSkipsUnreachableServiceURL(t *testing.T) {
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dead := stargatetest.New(t, nil)
	deadURL := dead.URL()
	dead.Close()
	client, err := stargate.NewClient(deadURL+","+srv.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := client.NewProducer(ctx, "first", nil)
	if err != nil {
		t.Fatalf("second URL not tried: %v", err)
	}
	p.Close()
}
