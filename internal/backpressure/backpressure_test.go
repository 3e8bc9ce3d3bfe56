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
