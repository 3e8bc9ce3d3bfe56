package stargate

import (
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
	if id, err := f.Wait(); id.LedgerID != 1 || err != nil {
		t.Fatalf("Wait = %v, %v", id, err)
	}
	// Waiters before completion, on Wait and on Done.
	f = &SendFuture{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := f.Wait(); err != ErrClosed {
				t.Errorf("Wait = %v", err)
			}
		})
		wg.Go(func() { <-f.Done() })
	}
	f.finish(MessageID{}, ErrClosed)
	wg.Wait()
	if _, err := failedFuture(ErrClosed).Wait(); err != ErrClosed {
		t.Fatal("failedFuture")
	}
}
