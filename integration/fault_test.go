package integration

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/dockertest"
)

// faultRun produces at least n messages, and keeps producing until fault
// has returned (a fault test drives its faults to completion, whatever the
// machine's speed), and consumes them through clients that may lose their
// connections while fault runs; it checks that every message whose future
// returned an ID was received and every future completed.
type faultRun struct {
	sent, acked, failed, received, duplicates int
	elapsed                                   time.Duration
}

func runWithFaults(t *testing.T, e *env, client *stargate.Client, n int, po *stargate.ProducerOptions, fault func(ctx context.Context)) faultRun {
	t.Helper()
	topic := dockertest.UniqueTopic(t)
	ctx, cancel := context.WithTimeout(e.ctx, 8*time.Minute)
	defer cancel()
	start := time.Now()
	cons, err := client.NewConsumer(ctx, topic, "sub", &stargate.ConsumerOptions{PullMode: true, PullWindow: 500})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	prod, err := client.NewProducer(ctx, topic, po)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()

	var mu sync.Mutex
	seen := make(map[string]int, n)
	var wg sync.WaitGroup
	consCtx, stopCons := context.WithCancel(ctx)
	defer stopCons()
	wg.Go(func() {
		for m, err := range cons.Messages(consCtx) {
			if err != nil {
				if consCtx.Err() == nil {
					t.Errorf("consumer gave up: %v", err)
				}
				return
			}
			_ = m.Ack(consCtx)
			mu.Lock()
			seen[string(m.Payload)]++
			mu.Unlock()
		}
	})
	faultCtx, stopFault := context.WithCancel(ctx)
	faultDone := make(chan struct{})
	wg.Go(func() {
		defer close(faultDone)
		fault(faultCtx)
	})

	var futs []*stargate.SendFuture
	for i := 0; i < n || !isClosed(faultDone); i++ {
		futs = append(futs, prod.Send(ctx, stargate.Message{Payload: []byte(strconv.Itoa(i))}))
	}
	var r faultRun
	r.sent = len(futs)
	var ok []string
	for i, f := range futs {
		if _, err := f.Wait(ctx); err != nil && errors.Is(err, ctx.Err()) {
			t.Fatalf("future %d never completed", i)
		} else if err != nil {
			r.failed++
			t.Logf("send %d: %v", i, err)
			continue
		}
		r.acked++
		ok = append(ok, strconv.Itoa(i))
	}
	stopFault()
	// Every acknowledged message must arrive. A loaded machine may be slow,
	// so what fails the test is a consumer that stops making progress.
	progress, lastSeen := time.Now(), -1
	for {
		mu.Lock()
		missing := 0
		for _, k := range ok {
			if seen[k] == 0 {
				missing++
			}
		}
		got := len(seen)
		mu.Unlock()
		if missing == 0 {
			break
		}
		if got != lastSeen {
			progress, lastSeen = time.Now(), got
		}
		if time.Since(progress) > time.Minute {
			t.Fatalf("%d acknowledged messages never arrived; nothing new for a minute", missing)
		}
		time.Sleep(100 * time.Millisecond)
	}
	stopCons()
	wg.Wait()
	for _, c := range seen {
		r.received++
		r.duplicates += c - 1
	}
	r.elapsed = time.Since(start)
	return r
}

// isClosed reports whether ch is closed, without waiting.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestReconnectThroughHundredCuts(t *testing.T) {
	checkLeaks(t)
	e := plain(t)
	px := newProxy(t, e.broker.WSURL)
	client, err := stargate.NewClient(px.url(), &stargate.ClientOptions{
		ReconnectDelay: 20 * time.Millisecond, MaxReconnectDelay: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cuts := 0
	r := runWithFaults(t, e, client, 50_000, nil, func(ctx context.Context) {
		for cuts < 100 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(20+rand.IntN(60)) * time.Millisecond):
			}
			px.cut()
			cuts++
		}
	})
	t.Logf("cuts=%d sent=%d acked=%d failed=%d received=%d duplicates=%d lost=0 in %v",
		cuts, r.sent, r.acked, r.failed, r.received, r.duplicates, r.elapsed.Round(time.Millisecond))
	if cuts < 100 {
		t.Errorf("only %d of 100 cuts happened", cuts)
	}
	if r.failed != 0 {
		t.Errorf("%d sends failed; reconnect should have delivered them", r.failed)
	}
}

func TestReconnectAfterBrokerKill9(t *testing.T) {
	checkLeaks(t)
	b := dockertest.RequireWith(t, dockertest.Options{Variant: dockertest.Plain, Dedicated: true, Logf: t.Logf})
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Minute)
	defer cancel()
	client, err := stargate.NewClient(b.WSURL, &stargate.ClientOptions{
		ReconnectDelay: 50 * time.Millisecond, MaxReconnectDelay: time.Second, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, broker: b, client: client, admin: b.Admin(), ctx: ctx}
	var down time.Duration
	r := runWithFaults(t, e, client, 100_000, &stargate.ProducerOptions{SendTimeout: 3 * time.Minute}, func(fctx context.Context) {
		select {
		case <-fctx.Done():
			return
		case <-time.After(3 * time.Second):
		}
		start := time.Now()
		if err := b.Kill(); err != nil {
			t.Errorf("kill: %v", err)
			return
		}
		if err := b.Restart(ctx); err != nil {
			t.Errorf("restart: %v", err)
		}
		down = time.Since(start)
	})
	t.Logf("kill -9 after 3s, broker back after %v: sent=%d acked=%d failed=%d received=%d duplicates=%d lost=0 in %v",
		down.Round(time.Millisecond), r.sent, r.acked, r.failed, r.received, r.duplicates, r.elapsed.Round(time.Millisecond))
	if down == 0 {
		t.Error("the broker was not killed and restarted during the run")
	}
}

func TestStalledPeerCloseIsBounded(t *testing.T) {
	checkLeaks(t)
	e := plain(t)
	px := newProxy(t, e.broker.WSURL)
	client, err := stargate.NewClient(px.url(), &stargate.ClientOptions{
		KeepAlive: 300 * time.Millisecond, DialTimeout: time.Second, ReconnectDelay: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	topic := dockertest.UniqueTopic(t)
	cons, err := client.NewConsumer(e.ctx, topic, "sub", nil)
	if err != nil {
		t.Fatal(err)
	}
	prod, err := client.NewProducer(e.ctx, topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := prod.Send(e.ctx, stargate.Message{Payload: []byte("before")}).Wait(e.ctx); err != nil {
		t.Fatal(err)
	}
	px.stalled.Store(true)
	big := make([]byte, 500_000)
	var futs []*stargate.SendFuture
	for range 20 { // 10 MB: more than socket buffers hold
		futs = append(futs, prod.Send(e.ctx, stargate.Message{Payload: big}))
	}
	rangeEnded := make(chan error, 1)
	go func() {
		var last error
		for _, err := range cons.Messages(context.Background()) {
			last = err
		}
		rangeEnded <- last
	}()
	time.Sleep(2 * time.Second) // keepalive notices the silence, reconnects hang on the stalled proxy

	start := time.Now()
	prod.Close()
	cons.Close()
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("Close against a stalled peer took %v", d)
	}
	select {
	case err := <-rangeEnded:
		if !errors.Is(err, stargate.ErrClosed) {
			t.Errorf("range ended with %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("range did not end after Close")
	}
	for i, f := range futs {
		select {
		case <-f.Done():
		case <-time.After(time.Second):
			t.Fatalf("future %d did not complete after Close", i)
		}
	}
	px.stalled.Store(false)
}
