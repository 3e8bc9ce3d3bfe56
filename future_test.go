package stargate

import (
	"context"
	"errors"
	"sync"
	"testing"
)

func TestSendFutureCompletesOnceForEveryWaiter(t *testing.T) {
	// Completed before anyone waits: no channel is needed, Done is closed.
	f := &SendFuture{}
	if !f.finish(MessageID{LedgerID: 1}, nil) || f.finish(MessageID{}, errors.New("late")) {
		t.Fatal("finish must succeed once")
	}
	<-f.Done()
	if id, err := f.Wait(context.Background()); id.LedgerID != 1 || err != nil {
		t.Fatalf("Wait = %v, %v", id, err)
	}
	// Waiters before completion, on Wait and on Done.
	f = &SendFuture{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := f.Wait(context.Background()); err != ErrClosed {
				t.Errorf("Wait = %v", err)
			}
		})
		wg.Go(func() { <-f.Done() })
	}
	f.finish(MessageID{}, ErrClosed)
	wg.Wait()
	if _, err := failedFuture(ErrClosed).Wait(context.Background()); err != ErrClosed {
		t.Fatal("failedFuture")
	}
}

// Wait gives a ready result even when its ctx is done too (as Pub/Sub's
// Get(ctx)), and ctx's error only while the future is pending; the send
// goes on and a later Wait gets the result.
func TestSendFutureWaitCtx(t *testing.T) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	f := &SendFuture{}
	if _, err := f.Wait(done); err != context.Canceled {
		t.Fatalf("Wait on a pending future with a done ctx = %v, want context.Canceled", err)
	}
	f.finish(MessageID{LedgerID: 7}, nil)
	for range 100 { // the select must not pick ctx at random
		if id, err := f.Wait(done); err != nil || id.LedgerID != 7 {
			t.Fatalf("Wait on a complete future with a done ctx = %v, %v", id, err)
		}
	}
	if _, err := failedFuture(ErrClosed).Wait(done); err != ErrClosed {
		t.Fatalf("failedFuture with a done ctx: %v", err)
	}
}

func TestChanLock(t *testing.T) {
	l := newChanLock()
	ended := make(chan struct{})
	if err := l.lock(context.Background(), ended); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.lock(short, ended); err != context.Canceled {
		t.Fatalf("lock held, ctx done: %v", err)
	}
	close(ended)
	if err := l.lock(context.Background(), ended); err != errEnded {
		t.Fatalf("lock held, owner ended: %v", err)
	}
	l.unlock()
	if err := l.lock(short, nil); err != nil {
		t.Fatalf("a free lock is taken even with a done ctx: %v", err)
	}
}
