package integration

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/dockertest"
)

// sentCounter is an Observer that counts the Sent events, which must match
// the producer's Stats.
type sentCounter struct {
	stargate.NopObserver
	sent, reconnected atomic.Int64
}

func (o *sentCounter) Sent(context.Context, stargate.SendResult) { o.sent.Add(1) }

func (o *sentCounter) Connection(e stargate.ConnEvent) {
	if e.Kind == stargate.ConnReconnected {
		o.reconnected.Add(1)
	}
}

// TestStats: against the real broker, through a relay that cuts every
// connection once, the handles' Stats count what the test did: sends and
// their acknowledgements (the cut resends nothing twice in the counts),
// deliveries, a nack's redelivery, acks, and one reconnect per handle with
// the lost connection as the last error.
func TestStats(t *testing.T) {
	checkLeaks(t)
	e := plain(t)
	px := newProxy(t, e.broker.WSURL)
	obs := &sentCounter{}
	client, err := stargate.NewClient(px.url(), &stargate.ClientOptions{Observer: obs,
		ReconnectDelay: 20 * time.Millisecond, MaxReconnectDelay: 200 * time.Millisecond, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	topic := dockertest.UniqueTopic(t)
	cons, err := client.NewConsumer(e.ctx, topic, "sub", &stargate.ConsumerOptions{
		Type: stargate.Shared, NackRedeliveryDelay: -1, InitialPosition: stargate.Earliest})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cons.Close() })
	r, err := client.NewReader(e.ctx, topic, &stargate.ReaderOptions{Start: stargate.Earliest})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	p, err := client.NewProducer(e.ctx, topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })

	var acks, nacks int64
	settle := func(m stargate.Message, nack bool) {
		t.Helper()
		f, n := m.Ack, &acks
		if nack {
			f, n = m.Nack, &nacks
		}
		if err := f(e.ctx); err != nil {
			t.Fatal(err)
		}
		*n++
	}
	e.sendAll(p, msgs(4, "a")...)
	// Ack three, nack one, and ack its redelivery.
	redelivered := false
	ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
	defer cancel()
	for m, err := range cons.Messages(ctx) {
		if err != nil {
			t.Fatalf("after %d acks: %v", acks, err)
		}
		if string(m.Payload) == "a3" && m.RedeliveryCount == 0 {
			settle(m, true)
			continue
		}
		settle(m, false)
		if m.RedeliveryCount > 0 {
			redelivered = true
		}
		if redelivered && acks >= 4 {
			break
		}
	}
	before := time.Now()
	px.cut()
	waitUntil(t, e.ctx, "every handle reconnected", func() bool {
		return p.Stats().Reconnects >= 1 && cons.Stats().Reconnects >= 1 && r.Stats().Reconnects >= 1
	})
	e.sendAll(p, msgs(2, "b")...)
	seen := map[string]bool{}
	for m, err := range cons.Messages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		settle(m, false)
		if seen[string(m.Payload)] = true; seen["b0"] && seen["b1"] {
			break
		}
	}
	read := 0
	for _, err := range r.Messages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if read++; read == 6 {
			break
		}
	}

	ps := p.Stats()
	if ps.Sent != 6 || ps.SentBytes != 12 || ps.Acked != 6 || ps.Failed != 0 || ps.Pending != 0 {
		t.Errorf("producer %+v, want 6 sent and acked", ps)
	}
	if n := obs.sent.Load(); n != ps.Sent {
		t.Errorf("%d Sent events, Stats say %d", n, ps.Sent)
	}
	cs := cons.Stats()
	if cs.Received != acks+nacks || cs.Redelivered < 1 || cs.Acked != acks || cs.Nacked != nacks || nacks != 1 {
		t.Errorf("consumer %+v, want %d received, %d acked, %d nacked, a redelivery", cs, acks+nacks, acks, nacks)
	}
	rs := r.Stats()
	if rs.Received != 6 || rs.ReceivedBytes != 12 {
		t.Errorf("reader %+v, want 6 received", rs)
	}
	for name, c := range map[string]stargate.ConnStats{"producer": ps.ConnStats, "consumer": cs.ConnStats, "reader": rs.ConnStats} {
		if c.Reconnects < 1 || c.LastError == nil || c.LastErrorTime.Before(before) {
			t.Errorf("%s %+v, want a reconnect after the cut, and the cut as last error", name, c)
		}
	}
	if n := obs.reconnected.Load(); n != ps.Reconnects+cs.Reconnects+rs.Reconnects {
		t.Errorf("%d reconnect events, Stats say %d", n, ps.Reconnects+cs.Reconnects+rs.Reconnects)
	}
}

func waitUntil(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out: %s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
