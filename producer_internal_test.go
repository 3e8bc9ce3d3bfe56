package stargate

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stargate-go/stargate/stargatetest"
)

// Flush returns only once every future it covers is complete, also one
// whose acknowledgement is being handled at that moment: the handler used
// to take the future out of the pending set, unlock, and only then complete
// it, and a Flush in between returned early. The test holds the future's
// own lock to stall its completion at that point.
func TestFlushWaitsForFutureBeingCompleted(t *testing.T) {
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := NewClient(srv.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.NewProducer(ctx, "flush-completing", &ProducerOptions{SendTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	srv.WithholdAcks(true)
	defer srv.WithholdAcks(false)
	f := p.Send(ctx, Message{Payload: []byte("x")})
	e := (*pendingSend)(nil)
	p.pendMu.Lock()
	for _, pe := range p.pending {
		if &pe.SendFuture == f {
			e = pe
		}
	}
	p.pendMu.Unlock()
	if e == nil {
		t.Fatal("the send is not pending")
	}

	f.mu.Lock()
	locked := true
	defer func() {
		if locked {
			f.mu.Unlock()
		}
	}()
	acked := make(chan struct{})
	go func() {
		defer close(acked)
		p.onMessage([]byte(`{"result":"ok","messageId":"CLlAEKMXIAAwAA==","context":"` + strconv.FormatUint(e.ctxID, 10) + `"}`))
	}()
	// Wait until the handler is stuck completing f: f has left pending, or
	// the handler holds the pending lock (for 100ms in a row).
	var heldSince time.Time
	for {
		if p.pendMu.TryLock() {
			gone := p.pending[e.ctxID] == nil
			p.pendMu.Unlock()
			if gone {
				break
			}
			heldSince = time.Time{}
		} else if heldSince.IsZero() {
			heldSince = time.Now()
		} else if time.Since(heldSince) > 100*time.Millisecond {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the acknowledgement was never handled")
		}
		time.Sleep(time.Millisecond)
	}
	flushed := make(chan error, 1)
	go func() { flushed <- p.Flush(ctx) }()
	select {
	case err := <-flushed:
		t.Fatalf("Flush returned (%v) before the future it covers completed", err)
	case <-time.After(300 * time.Millisecond):
	}
	f.mu.Unlock()
	locked = false
	<-acked
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if _, err := f.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}
