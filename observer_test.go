package stargate_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/stargatetest"
)

type ctxKey struct{}

// recorder is an Observer that records every event.
type recorder struct {
	stargate.NopObserver
	mu       sync.Mutex
	sending  []stargate.SendEvent
	sent     []stargate.SendResult
	sentCtx  []any // the ctxKey value of Sent's ctx
	received []stargate.ReceiveEvent
	settled  []stargate.SettleEvent
	permits  int
	permitOf stargate.HandleInfo
	conns    []stargate.ConnEvent
}

func (r *recorder) Sending(ctx context.Context, e stargate.SendEvent) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	e.Properties["traceparent"] = "00-trace-" + string(rune('a'+len(r.sending)))
	r.sending = append(r.sending, e)
	return context.WithValue(ctx, ctxKey{}, len(r.sending))
}

func (r *recorder) Sent(ctx context.Context, e stargate.SendResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, e)
	r.sentCtx = append(r.sentCtx, ctx.Value(ctxKey{}))
}

func (r *recorder) Received(_ context.Context, e stargate.ReceiveEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.received = append(r.received, e)
}

func (r *recorder) Settled(e stargate.SettleEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.settled = append(r.settled, e)
}

func (r *recorder) Permitted(e stargate.PermitEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.permits += e.Permits
	r.permitOf = e.Handle
}

func (r *recorder) Connection(e stargate.ConnEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.conns = append(r.conns, e)
}

func (r *recorder) connKinds(kind string) []stargate.ConnEventKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ks []stargate.ConnEventKind
	for _, e := range r.conns {
		if e.Handle.Kind == kind {
			ks = append(ks, e.Kind)
		}
	}
	return ks
}

// The Observer sees every send from Sending to Sent (with the context
// Sending returned), can add properties that travel with the message
// without touching the caller's map, and sees deliveries with those
// properties, acks, permits and connection events.
func TestObserverEvents(t *testing.T) {
	t.Parallel()
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rec := &recorder{}
	opts := fastReconnect
	opts.Observer = rec
	client, _ := stargate.NewClient(srv.URL(), &opts)
	c, err := client.NewConsumer(ctx, "public/default/obs", "sub", &stargate.ConsumerOptions{PullMode: true, PullWindow: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := client.NewProducer(ctx, "obs", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	props := map[string]string{"k": "v"}
	if _, err := p.Send(ctx, stargate.Message{Payload: []byte("hello"), Properties: props}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if len(props) != 1 {
		t.Fatalf("the caller's properties were modified: %v", props)
	}
	done, stop := context.WithCancel(ctx)
	stop()
	if _, err := p.Send(done, stargate.Message{Payload: []byte("refused")}).Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}

	var m stargate.Message
	for msg, err := range c.Messages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		m = msg
		break
	}
	if m.Properties["traceparent"] != "00-trace-a" || m.Properties["k"] != "v" {
		t.Fatalf("received properties %v", m.Properties)
	}
	if err := m.Ack(ctx); err != nil {
		t.Fatal(err)
	}

	srv.DropConnections("")
	waitFor(t, "both reconnects", func() bool {
		return p.Stats().Reconnects == 1 && c.Stats().Reconnects == 1
	})

	rec.mu.Lock()
	wantProd := stargate.HandleInfo{Kind: "producer", Topic: "persistent://public/default/obs"}
	wantCons := stargate.HandleInfo{Kind: "consumer", Topic: "persistent://public/default/obs", Subscription: "sub"}
	if len(rec.sending) != 2 || len(rec.sent) != 2 {
		rec.mu.Unlock() // the handles' goroutines must not block on it while they close
		t.Fatalf("%d Sending, %d Sent; want 2 each", len(rec.sending), len(rec.sent))
	}
	if rec.sending[0].Handle != wantProd || rec.sending[0].Bytes != 5 {
		t.Errorf("Sending: %+v", rec.sending[0])
	}
	ok, refused := rec.sent[0], rec.sent[1]
	if ok.Err != nil || ok.ID.IsZero() || ok.Bytes != 5 || ok.Latency <= 0 || rec.sentCtx[0] != 1 {
		t.Errorf("Sent: %+v (ctx value %v)", ok, rec.sentCtx[0])
	}
	if !errors.Is(refused.Err, context.Canceled) || rec.sentCtx[1] != 2 {
		t.Errorf("refused Sent: %+v (ctx value %v)", refused, rec.sentCtx[1])
	}
	if len(rec.received) != 1 || rec.received[0].Handle != wantCons || !rec.received[0].Message.ID.Equal(ok.ID) {
		t.Errorf("Received: %+v", rec.received)
	}
	if len(rec.settled) != 1 || rec.settled[0].Nack || rec.settled[0].Err != nil || rec.settled[0].Bytes != 5 {
		t.Errorf("Settled: %+v", rec.settled)
	}
	if rec.permits < 10 {
		t.Errorf("permits %d, want at least the window of 10", rec.permits)
	}
	rec.mu.Unlock()
	for _, kind := range []string{"producer", "consumer"} {
		got := rec.connKinds(kind)
		if len(got) < 2 || got[0] != stargate.ConnLost || got[len(got)-1] != stargate.ConnReconnected {
			t.Errorf("%s connection events %v, want lost … reconnected", kind, got)
		}
	}
}

// A multi-topic consumer's events name its topics.
func TestObserverMultiTopicHandle(t *testing.T) {
	t.Parallel()
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rec := &recorder{}
	client, _ := stargate.NewClient(srv.URL(), &stargate.ClientOptions{Observer: rec})
	c, err := client.NewMultiTopicConsumer(ctx, []string{"a", "b"}, "s%1", &stargate.ConsumerOptions{PullMode: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	short, stop := context.WithTimeout(ctx, 50*time.Millisecond)
	defer stop()
	for range c.Messages(short) { // nothing arrives; ranging asks for permits
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	want := stargate.HandleInfo{Kind: "consumer", Topic: "persistent://public/default/a,persistent://public/default/b", Subscription: "s%1"}
	if rec.permitOf != want {
		t.Fatalf("permit event of %+v, want %+v", rec.permitOf, want)
	}
}
