package stargate_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/stargatetest"
)

// TestCloseWhileBusy closes handles while other goroutines are in Send,
// Wait, Flush, Messages and Ack, from several goroutines at once.
func TestCloseWhileBusy(t *testing.T) {
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client, _ := stargate.NewClient(srv.URL(), nil)
	for round := range 5 {
		p, err := client.NewProducer(ctx, "busy", nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.NewConsumer(ctx, "busy", "s", &stargate.ConsumerOptions{Type: stargate.Shared, PullMode: round%2 == 0})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for {
					f := p.Send(ctx, stargate.Message{Payload: []byte("x")})
					if _, err := f.Wait(ctx); errors.Is(err, stargate.ErrClosed) {
						return
					} else if err != nil {
						t.Errorf("send: %v", err)
						return
					}
				}
			})
		}
		wg.Go(func() {
			for p.Flush(ctx) == nil {
				if _, err := p.Send(ctx, stargate.Message{}).Wait(ctx); errors.Is(err, stargate.ErrClosed) {
					return
				}
			}
		})
		var last error
		var acks sync.WaitGroup
		wg.Go(func() {
			for m, err := range c.Messages(ctx) {
				if err != nil {
					last = err
					return
				}
				acks.Go(func() { _ = m.Ack(ctx) }) // acks from other goroutines, racing Close
			}
		})
		time.Sleep(100 * time.Millisecond)
		start := time.Now()
		var closers sync.WaitGroup
		for range 3 {
			closers.Go(func() { p.Close(); c.Close() })
		}
		closers.Wait()
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Close took %v", d)
		}
		wg.Wait()
		acks.Wait()
		if !errors.Is(last, stargate.ErrClosed) {
			t.Errorf("range ended with %v, want ErrClosed", last)
		}
		if err := p.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	}
}

// TestBoundedMemoryAgainstStall sends a million messages to a broker that
// stops acknowledging: the producer holds at most its window.
func TestBoundedMemoryAgainstStall(t *testing.T) {
	if testing.Short() {
		t.Skip("sends a million messages")
	}
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client, _ := stargate.NewClient(srv.URL(), nil)
	const window = 1000
	p, err := client.NewProducer(ctx, "stall", &stargate.ProducerOptions{MaxInFlight: window, SendTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	srv.WithholdAcks(true)
	defer srv.WithholdAcks(false)

	payload := make([]byte, 100)
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	// The window fills; a send against it waits as long as its ctx allows
	// and fails with ctx's error; a send with a done ctx is refused at once.
	full, cancelFull := context.WithCancel(ctx)
	cancelFull()
	admitted := 0
	futs := make([]*stargate.SendFuture, 0, window)
	for i := range 1_000_000 {
		sctx := full
		switch {
		case i < window:
			sctx = ctx
		case i == window:
			var cancel context.CancelFunc
			sctx, cancel = context.WithTimeout(ctx, 20*time.Millisecond)
			defer cancel()
		}
		f := p.Send(sctx, stargate.Message{Payload: payload})
		if i == window {
			if _, err := f.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("send against a full window: %v", err)
			}
			continue
		}
		if done(f) {
			if _, err := f.Wait(ctx); !errors.Is(err, context.Canceled) {
				t.Fatalf("send with a done ctx: %v", err)
			}
			continue
		}
		admitted++
		futs = append(futs, f)
	}
	growth := int64(heap()) - int64(before)
	// Per message in flight: the future and its message (~250 B) plus the
	// payload (100 B) and the frame (~200 B) buffered for the socket.
	bound := int64(window*600 + 4<<20)
	t.Logf("admitted %d of 1M sends; heap grew %d KiB (bound %d KiB)", admitted, growth>>10, bound>>10)
	if admitted != window {
		t.Errorf("admitted %d messages, window is %d", admitted, window)
	}
	if growth > bound {
		t.Errorf("heap grew %d bytes with a window of %d", growth, window)
	}
	runtime.KeepAlive(futs)
}

func done(f *stargate.SendFuture) bool {
	select {
	case <-f.Done():
		return true
	default:
		return false
	}
}
