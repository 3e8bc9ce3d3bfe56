package stargate

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lxzan/gws"
	"github.com/stargate-go/stargate/stargatetest"
)

// Pull-mode credit belongs to the socket it was granted on. When the loop
// asks for a message on a new socket before the link has reported it
// connected (a reconnect race), the old socket's credit must not be spent
// on the new one and then topped up again: the server would run about two
// windows ahead of the loop.
func TestPullCreditBelongsToItsSocket(t *testing.T) {
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range 100 {
		if _, err := srv.Publish("pull", stargatetest.Message{Payload: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	client, err := NewClient(srv.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	const window = 10
	opts := &ConsumerOptions{PullMode: true, PullWindow: window, InitialPosition: Earliest}
	a, err := client.NewConsumer(ctx, "pull", "a", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := client.NewConsumer(ctx, "pull", "b", opts) // never ranged: its socket stands in for a's next one
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	n := 0
	for m, err := range a.Messages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		_ = m.Ack(ctx)
		if n++; n == 5 { // credit 5, the threshold: the next demand refills
			break
		}
	}
	old, next := a.l.current(), b.l.current()
	a.l.cur.Store(next) // as after a reconnect, before connected runs
	a.seq.ranging.Store(true)
	a.demand()
	a.connected(next)
	a.seq.ranging.Store(false)
	a.l.cur.Store(old)

	var delivered int64
	waitStable(t, func() int64 {
		st, err := srv.Stats("pull")
		if err != nil {
			t.Fatal(err)
		}
		delivered = st.Subscriptions["b"].UnackedMessages
		return delivered
	})
	if delivered > window {
		t.Fatalf("the new socket was granted %d messages, more than the window of %d", delivered, window)
	}
	if delivered == 0 {
		t.Fatal("no permits reached the new socket")
	}
}

// waitStable polls f until it returns the same non-zero value for 300ms.
func waitStable(t *testing.T, f func() int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	last, since := int64(-1), time.Now()
	for time.Now().Before(deadline) {
		v := f()
		if v != last {
			last, since = v, time.Now()
		} else if v != 0 && time.Since(since) > 300*time.Millisecond {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A message frame the client cannot decode ends the sequence with a
// *ProtocolError, as documented, instead of being skipped (a silent gap
// for a reader, a lost permit in pull mode).
func TestUndecodableFrameEndsSequence(t *testing.T) {
	url := rawServer(t, func(conn *gws.Conn) {
		_ = conn.WriteMessage(gws.OpcodeText, []byte(`{"messageId":"CAEQAQ==","payload":"%%% not base64"}`))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err := NewClient(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, open := range []func() (interface {
		Close() error
	}, func(context.Context) error, error){
		func() (interface{ Close() error }, func(context.Context) error, error) {
			c, err := client.NewConsumer(ctx, "t", "s", nil)
			if err != nil {
				return nil, nil, err
			}
			return c, func(ctx context.Context) error { return lastErr(c.Messages(ctx)) }, nil
		},
		func() (interface{ Close() error }, func(context.Context) error, error) {
			r, err := client.NewReader(ctx, "t", nil)
			if err != nil {
				return nil, nil, err
			}
			return r, func(ctx context.Context) error { return lastErr(r.Messages(ctx)) }, nil
		},
	} {
		h, rangeAll, err := open()
		if err != nil {
			t.Fatal(err)
		}
		err = rangeAll(ctx)
		var pe *ProtocolError
		if !errors.As(err, &pe) {
			t.Errorf("sequence ended with %v, want a *ProtocolError", err)
		}
		h.Close()
	}
}

func lastErr(seq func(func(Message, error) bool)) error {
	var last error
	for m, err := range seq {
		if err == nil && m.ID.IsZero() {
			return errors.New("zero message yielded")
		}
		last = err
	}
	return last
}

// A reader that is not ranging keeps at most one window of what it
// received across reconnects (the next socket resumes after the last one
// kept), and then yields every message once, in order.
func TestReaderKeepsOneWindowAcrossReconnects(t *testing.T) {
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range 100 {
		if _, err := srv.Publish("r", stargatetest.Message{Payload: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	client, err := NewClient(srv.URL(), &ClientOptions{ReconnectDelay: time.Millisecond, MaxReconnectDelay: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	const window = 10
	r, err := client.NewReader(ctx, "r", &ReaderOptions{Start: Earliest, ReceiverQueueSize: window})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	queued := func() int {
		r.in.mu.Lock()
		defer r.in.mu.Unlock()
		return len(r.in.queue) - r.in.head
	}
	most := 0
	for range 5 {
		waitStable(t, func() int64 { return int64(queued()) })
		most = max(most, queued())
		s := r.l.current()
		srv.DropConnections("r")
		if _, err := r.l.next(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	waitStable(t, func() int64 { return int64(queued()) })
	most = max(most, queued())
	if most > 2*window {
		t.Errorf("%d messages queued across reconnects; want at most two windows (%d)", most, 2*window)
	}
	want := byte(0)
	for m, err := range r.Messages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if m.Payload[0] != want {
			t.Fatalf("got message %d, want %d", m.Payload[0], want)
		}
		if want++; want == 100 {
			break
		}
	}
}

// A server that sends far beyond the window has its connection dropped and
// replaced (the broker redelivers), instead of growing the queue without
// bound or blocking the read goroutine.
func TestOverflowingServerIsDropped(t *testing.T) {
	var conns atomic.Int32
	url := rawServer(t, func(conn *gws.Conn) {
		if conns.Add(1) == 1 {
			for i := range 500 { // the window is 10
				// MessageIdData{ledgerId: 1, entryId: i}: fields 1 and 2, varints
				id := base64.StdEncoding.EncodeToString(binary.AppendUvarint([]byte{0x08, 0x01, 0x10}, uint64(i)))
				_ = conn.WriteMessage(gws.OpcodeText, []byte(`{"messageId":"`+id+`","payload":"eA=="}`))
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err := NewClient(url, &ClientOptions{ReconnectDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.NewConsumer(ctx, "t", "s", &ConsumerOptions{ReceiverQueueSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	for conns.Load() < 2 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	if n := conns.Load(); n < 2 {
		t.Fatalf("the overflowing connection was not replaced (%d connections)", n)
	}
	c.in.mu.Lock()
	queued := len(c.in.queue) - c.in.head
	c.in.mu.Unlock()
	if queued > c.in.limit {
		t.Errorf("%d messages queued, over the limit of %d", queued, c.in.limit)
	}
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung")
	}
}

// rawServer serves WebSocket upgrades on loopback, calls open for each
// connection and then reads it until it ends; it returns the service URL.
// The server is closed when the test ends.
func rawServer(t *testing.T, open func(*gws.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up := gws.NewUpgrader(&gws.BuiltinEventHandler{}, nil)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		open(conn)
		conn.ReadLoop()
	})}
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); <-served })
	return "ws://" + ln.Addr().String()
}
