package backpressure

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestPermitsNeverAheadOfWindow(t *testing.T) {
	p := NewPermits(10, 5)
	if n := p.Demand(); n != 10 {
		t.Fatalf("first demand permits %d, want 10", n)
	}
	granted, taken := 10, 0
	for i := 0; i < 1000; i++ {
		p.Taken()
		taken++
		n := p.Demand()
		if n < 0 {
			t.Fatalf("negative permit %d", n)
		}
		granted += n
		if ahead := granted - taken; ahead > 10 {
			t.Fatalf("broker may be %d ahead of the loop, window 10", ahead)
		}
		if n != 0 && n < 5 {
			t.Fatalf("permit of %d below the refill size", n)
		}
	}
}

func TestPermitsStallSendsNothing(t *testing.T) {
	p := NewPermits(4, 2)
	p.Demand()
	for range 4 {
		p.Taken()
	}
	// The loop stopped asking: nothing is sent until it asks again.
	if got := p.Credit(); got != 0 {
		t.Fatalf("credit %d after taking the whole window", got)
	}
	if n := p.Demand(); n != 4 {
		t.Fatalf("demand after stall permits %d, want 4", n)
	}
}

func TestPermitsResetAndClamp(t *testing.T) {
	p := NewPermits(0, 9) // clamped to window 1, threshold 0
	if n := p.Demand(); n != 1 {
		t.Fatalf("window 1: permit %d", n)
	}
	if n := p.Demand(); n != 0 {
		t.Fatalf("second demand without taking permits %d, want 0", n)
	}
	p.Reset()
	if n := p.Demand(); n != 1 {
		t.Fatalf("after reset permit %d, want 1", n)
	}
}

func TestWindowBounds(t *testing.T) {
	w := NewWindow(2, 100)
	ctx := context.Background()
	if err := w.Acquire(ctx, 60); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := w.Acquire(short, 60); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("byte budget exceeded: got %v, want deadline", err)
	}
	if err := w.Acquire(ctx, 40); err != nil {
		t.Fatal(err)
	}
	short2, cancel2 := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel2()
	if err := w.Acquire(short2, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("count exceeded: got %v, want deadline", err)
	}
	w.Release(60)
	if err := w.Acquire(ctx, 60); err != nil {
		t.Fatalf("after release: %v", err)
	}
	if err := w.Acquire(ctx, 101); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized: %v", err)
	}
}

// TestWindowFIFO: a large waiter is not overtaken by smaller ones behind it,
// and a cancelled waiter at the head lets the next one in.
func TestWindowFIFO(t *testing.T) {
	w := NewWindow(10, 100)
	ctx := context.Background()
	if err := w.Acquire(ctx, 90); err != nil {
		t.Fatal(err)
	}
	big := make(chan error, 1)
	go func() { big <- w.Acquire(ctx, 50) }()
	waitWaiters(t, w, 1)
	small := make(chan error, 1)
	go func() { small <- w.Acquire(ctx, 5) }() // would fit, but queues behind big
	waitWaiters(t, w, 2)
	select {
	case err := <-small:
		t.Fatalf("small acquire overtook the big waiter: %v", err)
	default:
	}
	w.Release(90)
	if err := <-big; err != nil {
		t.Fatal(err)
	}
	if err := <-small; err != nil {
		t.Fatal(err)
	}

	// Head cancelled: the one behind it, which fits, is admitted.
	w2 := NewWindow(10, 100)
	if err := w2.Acquire(ctx, 60); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	head := make(chan error, 1)
	go func() { head <- w2.Acquire(cctx, 50) }()
	waitWaiters(t, w2, 1)
	next := make(chan error, 1)
	go func() { next <- w2.Acquire(ctx, 30) }()
	waitWaiters(t, w2, 2)
	cancel()
	if err := <-head; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled head: %v", err)
	}
	if err := <-next; err != nil {
		t.Fatal(err)
	}
	// 60 + 30 held: releasing both empties the window.
	w2.Release(60)
	w2.Release(30)
	if err := w2.Acquire(ctx, 100); err != nil {
		t.Fatal(err)
	}
}

// TestWindowWaitAllocs: an Acquire that has to wait allocates nothing once
// the pool is warm.
func TestWindowWaitAllocs(t *testing.T) {
	w := NewWindow(1, 100)
	ctx := context.Background()
	if err := w.Acquire(ctx, 1); err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{})
	go func() {
		for range 101 { // AllocsPerRun(100, f) calls f 101 times
			if err := w.Acquire(ctx, 1); err != nil {
				t.Error(err)
			}
			got <- struct{}{}
		}
	}()
	allocs := testing.AllocsPerRun(100, func() {
		waitWaiters(t, w, 1)
		w.Release(1)
		<-got
	})
	if allocs > 0 {
		t.Errorf("%v allocations per blocked Acquire", allocs)
	}
}

func waitWaiters(t *testing.T, w *Window, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		w.mu.Lock()
		k := len(w.waiters)
		w.mu.Unlock()
		if k >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d waiters after 10s, want %d", k, n)
		}
		time.Sleep(time.Millisecond)
	}
}
