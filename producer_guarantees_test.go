package stargate_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/stargatetest"
)

// These tests hold the producer to the guarantees of issue 10's producer
// findings, against the fake broker: what is resent after a reconnect, how
// long Send and Close may wait, and how a terminated topic ends a producer.

// poll waits until cond holds, failing the test after d.
func poll(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A caller may reuse its Properties map and ReplicationClusters slice once
// Send has returned: a resend after a reconnect must carry what was sent,
// and must not read the caller's map while the caller writes it (which the
// race detector reports, and the runtime may turn into a fatal "concurrent
// map iteration and map write").
func TestSendOwnsPropertiesForResend(t *testing.T) {
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	opts := fastReconnect
	client, _ := stargate.NewClient(srv.URL(), &opts)
	const topic = "persistent://public/default/owned-props"
	p, err := client.NewProducer(ctx, topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	srv.WithholdAcks(true)
	defer srv.WithholdAcks(false)

	props := map[string]string{"k": "v1"}
	clusters := []string{"standalone"}
	f := p.Send(ctx, stargate.Message{Payload: []byte("x"), Properties: props, ReplicationClusters: clusters})
	// The caller reuses its map and slice for the next message.
	props["k"] = "v2"
	props["extra"] = "added"
	clusters[0] = "elsewhere"
	poll(t, 10*time.Second, "the first copy to be stored", func() bool {
		st, _ := srv.Stats(topic)
		return st.MsgIn == 1
	})
	srv.DropConnections(topic) // the ack is lost: the message is resent
	poll(t, 10*time.Second, "the resent copy to be stored", func() bool {
		st, _ := srv.Stats(topic)
		return st.MsgIn == 2
	})
	srv.WithholdAcks(false)
	if _, err := f.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	ms, err := srv.Messages(topic)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if len(m.Properties) != 1 || m.Properties["k"] != "v1" {
			t.Errorf("copy %d stored with properties %v, want map[k:v1] as sent", i, m.Properties)
		}
	}
}

// A Send with a done ctx is refused with ctx's error: nothing is sent.
func TestSendDoneCtxSendsNothing(t *testing.T) {
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, _ := stargate.NewClient(srv.URL(), nil)
	const topic = "persistent://public/default/done-ctx"
	p, err := client.NewProducer(ctx, topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	done, stop := context.WithCancel(ctx)
	stop()
	if _, err := p.Send(done, stargate.Message{Payload: []byte("cancelled")}).Wait(done); !errors.Is(err, context.Canceled) {
		t.Errorf("Send with a cancelled ctx: %v, want context.Canceled", err)
	}
	expired, stop2 := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer stop2()
	if _, err := p.Send(expired, stargate.Message{Payload: []byte("expired")}).Wait(expired); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send with an expired ctx: %v, want context.DeadlineExceeded", err)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(ctx, stargate.Message{Payload: []byte("live")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	ms, _ := srv.Messages(topic)
	if len(ms) != 1 || string(ms[0].Payload) != "live" {
		var got []string
		for _, m := range ms {
			got = append(got, string(m.Payload))
		}
		t.Errorf("stored %q, want only [live]", got)
	}
}

// stallRelay is a TCP relay in front of a server. While stalled, it stops
// reading what clients send once their upgrade request has passed, as a
// server that stops reading its socket does; its receive buffers are small,
// so the client's socket backs up after a few MB.
type stallRelay struct {
	ln      net.Listener
	target  string
	stalled atomic.Bool
	dials   atomic.Int32 // connections accepted
	upgrade atomic.Int32 // connections whose server response started flowing back
	// cutFirst makes the relay cut the first connection 20ms after the
	// server's upgrade response started flowing back.
	cutFirst atomic.Bool

	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func newStallRelay(t *testing.T, wsURL string) *stallRelay {
	t.Helper()
	u, err := url.Parse(wsURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &stallRelay{ln: ln, target: u.Host}
	r.wg.Add(1)
	go r.accept()
	t.Cleanup(r.close)
	return r
}

func (r *stallRelay) url() string { return "ws://" + r.ln.Addr().String() }

func (r *stallRelay) accept() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.dials.Add(1)
		_ = c.(*net.TCPConn).SetReadBuffer(64 << 10)
		s, err := net.Dial("tcp", r.target)
		if err != nil {
			c.Close()
			continue
		}
		r.mu.Lock()
		r.conns = append(r.conns, c, s)
		r.mu.Unlock()
		r.wg.Add(2)
		go func() {
			defer r.wg.Done()
			defer c.Close()
			defer s.Close()
			r.clientToServer(s, c)
		}()
		go func() {
			defer r.wg.Done()
			defer c.Close()
			defer s.Close()
			var b [1]byte
			if _, err := io.ReadFull(s, b[:]); err != nil {
				return
			}
			first := r.upgrade.Add(1) == 1
			if _, err := c.Write(b[:]); err != nil {
				return
			}
			if first && r.cutFirst.Load() {
				r.wg.Add(1) // within this goroutine's own count
				go func() {
					defer r.wg.Done()
					time.Sleep(20 * time.Millisecond)
					c.Close()
					s.Close()
				}()
			}
			_, _ = io.Copy(c, s)
		}()
	}
}

// clientToServer forwards the upgrade request, then the rest unless stalled.
func (r *stallRelay) clientToServer(dst io.Writer, src net.Conn) {
	var hdr []byte
	var b [1]byte
	for !bytes.HasSuffix(hdr, []byte("\r\n\r\n")) {
		if _, err := src.Read(b[:]); err != nil {
			return
		}
		hdr = append(hdr, b[0])
	}
	if _, err := dst.Write(hdr); err != nil {
		return
	}
	buf := make([]byte, 32<<10)
	for {
		for r.stalled.Load() {
			if r.isClosed() {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (r *stallRelay) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns == nil
}

// cut closes every connection through the relay.
func (r *stallRelay) cut() {
	r.mu.Lock()
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = r.conns[:0]
	r.mu.Unlock()
}

func (r *stallRelay) close() {
	r.stalled.Store(false)
	r.ln.Close()
	r.mu.Lock()
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = nil
	r.mu.Unlock()
	r.wg.Wait()
}

// While one Send waits for a backed-up socket, other Sends wait for the
// connection's write lock only as long as their ctx allows, and Close
// does not wait at all.
func TestSendLockHonoursCtxWhileSocketBackedUp(t *testing.T) {
	srv := stargatetest.New(t, nil)
	relay := newStallRelay(t, srv.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, _ := stargate.NewClient(relay.url(), nil)
	p, err := client.NewProducer(ctx, "persistent://public/default/backed-up", &stargate.ProducerOptions{SendTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	relay.stalled.Store(true)

	// The writer sends 500 KB messages until one of them blocks in the
	// socket write, holding the write lock.
	var sends atomic.Int64
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		big := make([]byte, 500_000)
		for range 100 {
			sends.Add(1)
			if f := p.Send(context.Background(), stargate.Message{Payload: big}); done(f) {
				return // closed
			}
		}
	}()
	// Progress-based: the writer is blocked once its count stops moving.
	last, since := sends.Load(), time.Now()
	for time.Since(since) < time.Second {
		if n := sends.Load(); n != last {
			last, since = n, time.Now()
		}
		select {
		case <-writerDone:
			t.Fatal("the writer sent 100 messages into a stalled socket without blocking")
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Logf("writer blocked in send %d", last)

	short, stop := context.WithTimeout(ctx, 200*time.Millisecond)
	defer stop()
	start := time.Now()
	f := p.Send(short, stargate.Message{Payload: []byte("small")})
	took := time.Since(start)
	select {
	case <-f.Done():
		_, err = f.Wait(ctx)
	case <-time.After(2 * time.Second):
		err = errors.New("future still pending")
	}
	if took > 2*time.Second || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send behind a blocked writer returned after %v with %v, want context.DeadlineExceeded after about 200ms", took.Round(time.Millisecond), err)
	}
	start = time.Now()
	p.Close()
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("Close took %v", d)
	}
	<-writerDone
}

// A resend after a reconnect holds the write lock until every pending
// message is written again (so that frames stay in order); Sends meanwhile
// wait within their ctx, and Close interrupts the resend instead of
// waiting for the socket's write timeout.
func TestCloseInterruptsResend(t *testing.T) {
	srv := stargatetest.New(t, nil)
	relay := newStallRelay(t, srv.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	opts := fastReconnect
	client, _ := stargate.NewClient(relay.url(), &opts)
	const topic = "persistent://public/default/resend-stall"
	p, err := client.NewProducer(ctx, topic, &stargate.ProducerOptions{SendTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	srv.WithholdAcks(true)
	defer srv.WithholdAcks(false)
	const n = 30 // 20 MB of frames: far more than the stalled path buffers
	big := make([]byte, 500_000)
	futs := make([]*stargate.SendFuture, n)
	for i := range futs {
		futs[i] = p.Send(ctx, stargate.Message{Payload: big})
	}
	poll(t, 60*time.Second, "every message to reach the server", func() bool {
		st, _ := srv.Stats(topic)
		return st.MsgIn == n
	})
	relay.stalled.Store(true)
	relay.cut() // the acks are lost: everything is resent, into a stalled socket
	poll(t, 30*time.Second, "the reconnect", func() bool { return relay.upgrade.Load() >= 2 })

	// Probe until a Send finds the lock held by the resend; no probe may
	// wait much beyond its ctx.
	var probeErr error
	for probeErr == nil {
		short, stop := context.WithTimeout(ctx, 100*time.Millisecond)
		start := time.Now()
		f := p.Send(short, stargate.Message{Payload: []byte("probe")})
		took := time.Since(start)
		stop()
		if took > 2*time.Second {
			t.Errorf("a Send during the resend returned after %v, beyond its 100ms ctx", took.Round(time.Millisecond))
			break
		}
		if done(f) {
			_, probeErr = f.Wait(ctx)
			if !errors.Is(probeErr, context.DeadlineExceeded) {
				t.Errorf("Send during the resend: %v, want context.DeadlineExceeded", probeErr)
			}
		}
		if ctx.Err() != nil {
			t.Fatal("no Send ever found the resend holding the lock")
		}
	}
	start := time.Now()
	p.Close()
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("Close during a stalled resend took %v", d)
	}
	for i, f := range futs {
		if _, err := f.Wait(ctx); !errors.Is(err, stargate.ErrClosed) {
			t.Errorf("future %d: %v, want ErrClosed", i, err)
		}
	}
}

// NewProducer sets the socket Send writes to before a fast reconnect can
// replace it: it used to write it after starting the link goroutine, whose
// reconnect writes it too, unordered (a data race; had the reconnect won,
// Sends would have gone to the dead first socket until the next reconnect).
//
// The race detector sees an ordering through any socket I/O or lock the
// test goroutine touches after NewProducer (the fake broker's, a logger's),
// so the relay cuts the first connection by itself, and the test only
// reads an atomic counter and sleeps (neither orders anything) until the
// reconnect has had time to complete.
func TestProducerFastReconnectAfterCreate(t *testing.T) {
	srv := stargatetest.New(t, nil)
	relay := newStallRelay(t, srv.URL())
	relay.cutFirst.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	opts := fastReconnect
	client, _ := stargate.NewClient(relay.url(), &opts)
	p, err := client.NewProducer(ctx, "fast-reconnect", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for relay.upgrade.Load() < 2 {
		if ctx.Err() != nil {
			t.Fatal("no reconnect")
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // not synchronisation: see above
	if _, err := p.Send(ctx, stargate.Message{Payload: []byte("x")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// A terminated topic ends the producer with ErrTopicTerminated: the send
// the broker refused, the sends still pending and every later Send fail
// with it at once, a new producer is refused with it (not temporary), and a
// producer that reconnects after the terminate ends instead of redialling
// forever. The fake answers as Pulsar 4.0.8 does (conformance EndOfTopic).
func TestProducerTopicTerminated(t *testing.T) {
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	opts := fastReconnect
	client, _ := stargate.NewClient(srv.URL(), &opts)
	const topic = "persistent://public/default/terminated"
	p, err := client.NewProducer(ctx, topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	idle, err := client.NewProducer(ctx, topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if _, err := p.Send(ctx, stargate.Message{Payload: []byte("before")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := srv.TerminateTopic(topic); err != nil {
		t.Fatal(err)
	}

	// The existing producer's next send.
	_, err = p.Send(ctx, stargate.Message{Payload: []byte("after")}).Wait(ctx)
	var se *stargate.SendError
	if !errors.As(err, &se) || !errors.Is(err, stargate.ErrTopicTerminated) || stargate.IsRetryable(err) {
		t.Fatalf("send after terminate: %v, want a *SendError matching ErrTopicTerminated, not temporary", err)
	}
	// Later sends fail at once, without reaching the server.
	before, _ := srv.Stats(topic)
	short, stop := context.WithTimeout(ctx, time.Second)
	defer stop()
	f := p.Send(short, stargate.Message{Payload: []byte("later")})
	if !done(f) {
		t.Error("Send on a producer of a terminated topic did not fail at once")
	}
	if _, err := f.Wait(ctx); !errors.Is(err, stargate.ErrTopicTerminated) {
		t.Errorf("later send: %v, want ErrTopicTerminated", err)
	}
	if err := p.Flush(ctx); !errors.Is(err, stargate.ErrTopicTerminated) {
		t.Errorf("Flush: %v, want ErrTopicTerminated", err)
	}
	after, _ := srv.Stats(topic)
	if after.MsgIn != before.MsgIn {
		t.Error("a later send reached the server")
	}
	// The ended producer's connection is closed: only idle's remains.
	poll(t, 10*time.Second, "the ended producer to disconnect", func() bool {
		st, _ := srv.Stats(topic)
		return st.Publishers == 1
	})

	// A new producer.
	_, err = client.NewProducer(ctx, topic, nil)
	var ce *stargate.ConnectError
	if !errors.As(err, &ce) || ce.StatusCode != 503 || !errors.Is(err, stargate.ErrTopicTerminated) || stargate.IsRetryable(err) {
		t.Fatalf("new producer: %v, want a 503 *ConnectError matching ErrTopicTerminated, not temporary", err)
	}

	// A producer that reconnects after the terminate ends: its next Send
	// fails with the refusal instead of waiting for a connection forever.
	srv.DropConnections(topic)
	poll(t, 10*time.Second, "the idle producer to end", func() bool {
		f := idle.Send(ctx, stargate.Message{Payload: []byte("x")})
		return done(f)
	})
	_, err = idle.Send(ctx, stargate.Message{Payload: []byte("x")}).Wait(ctx)
	if !errors.As(err, &ce) || !errors.Is(err, stargate.ErrTopicTerminated) {
		t.Errorf("send after a reconnect to a terminated topic: %v, want the 503 *ConnectError", err)
	}

	// After Close, every method says ErrClosed.
	p.Close()
	if _, err := p.Send(ctx, stargate.Message{}).Wait(ctx); !errors.Is(err, stargate.ErrClosed) {
		t.Errorf("Send after Close: %v, want ErrClosed", err)
	}
	if err := p.Flush(ctx); !errors.Is(err, stargate.ErrClosed) {
		t.Errorf("Flush after Close: %v, want ErrClosed", err)
	}
}

// A frame over the server's real limit (MaxFrameSize set above
// webSocketMaxTextFrameSize) makes the server close with 1009. Resending it
// would meet the same close on every connection, storing the messages
// before it again each time: the producer ends with that *CloseError.
func TestProducerEndsOnFrameTooBigForServer(t *testing.T) {
	srv := stargatetest.New(t, &stargatetest.Options{MaxTextFrameSize: 2000})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	opts := fastReconnect
	client, _ := stargate.NewClient(srv.URL(), &opts)
	const topic = "persistent://public/default/too-big"
	p, err := client.NewProducer(ctx, topic, &stargate.ProducerOptions{MaxFrameSize: 8192, SendTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Send(ctx, stargate.Message{Payload: []byte("small")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	srv.WithholdAcks(true) // a small message pending with the big one
	defer srv.WithholdAcks(false)
	small := p.Send(ctx, stargate.Message{Payload: []byte("pending")})
	big := p.Send(ctx, stargate.Message{Payload: make([]byte, 3000)})
	var ce *stargate.CloseError
	for i, f := range []*stargate.SendFuture{small, big} {
		select {
		case <-f.Done():
		case <-time.After(5 * time.Second):
			st, _ := srv.Stats(topic)
			t.Fatalf("future %d still pending 5s after the server's 1009 (%d messages stored)", i, st.MsgIn)
		}
		if _, err := f.Wait(ctx); !errors.As(err, &ce) || ce.Code != 1009 {
			t.Errorf("future %d: %v, want the 1009 *CloseError", i, err)
		}
	}
	if _, err := p.Send(ctx, stargate.Message{Payload: []byte("later")}).Wait(ctx); !errors.As(err, &ce) || ce.Code != 1009 {
		t.Errorf("later send: %v, want the 1009 *CloseError", err)
	}
	if st, _ := srv.Stats(topic); st.MsgIn > 3 {
		t.Errorf("%d messages stored: the pending ones were resent again and again", st.MsgIn)
	}
}

// The server's exact answers for a terminated topic (Pulsar 4.0.8, see
// TestTerminatedTopicEndsProducers in integration/) match
// ErrTopicTerminated and are not temporary; a 503 for another reason (a
// backlog quota) and other send failures stay temporary.
func TestTopicTerminatedErrorMatching(t *testing.T) {
	for _, tc := range []struct {
		err        error
		terminated bool
		temporary  bool
	}{
		{&stargate.ConnectError{StatusCode: 503, Message: `Failed to create producer/consumer: {"errorMsg":"org.apache.pulsar.broker.service.BrokerServiceException$TopicTerminatedException: Topic was already terminated","reqId":3431854273337931652, "remote":"…`}, true, false},
		{&stargate.ConnectError{StatusCode: 503, Message: `Failed to create producer/consumer: {"errorMsg":"org.apache.pulsar.broker.service.BrokerServiceException$ProducerBlockedQuotaExceededError: Cannot create producer on topic with backlog quota exceeded"}`}, false, true},
		{&stargate.ConnectError{StatusCode: 500, Message: "TopicTerminatedException"}, false, true},
		{&stargate.SendError{Code: 8, Msg: "org.apache.pulsar.client.api.PulsarClientException$TopicTerminatedException: Topic was terminated"}, true, false},
		{&stargate.SendError{Code: 8, Msg: `org.apache.pulsar.client.api.PulsarClientException$TopicTerminatedException: {"errorMsg":"org.apache.pulsar.broker.service.BrokerServiceException$TopicTerminatedException: Topic was already terminated","reqId":1}`}, true, false},
		{&stargate.SendError{Code: 8, Msg: "org.apache.pulsar.client.api.PulsarClientException$TimeoutException: Could not send message to broker within given timeout"}, false, true},
		{&stargate.SendError{Code: 7, Msg: "TopicTerminatedException"}, false, false},
	} {
		if got := errors.Is(tc.err, stargate.ErrTopicTerminated); got != tc.terminated {
			t.Errorf("%v: errors.Is(ErrTopicTerminated) = %v", tc.err, got)
		}
		if got := stargate.IsRetryable(tc.err); got != tc.temporary {
			t.Errorf("%v: IsRetryable = %v", tc.err, got)
		}
	}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{stargate.ErrSendTimeout, true},
		{fmt.Errorf("wrapped: %w", &stargate.ConnectError{StatusCode: 409}), true},
		{&stargate.ConnectError{StatusCode: 401}, false},
		{stargate.ErrClosed, false},
		{context.DeadlineExceeded, false},
		{&stargate.ArgError{Arg: "topic"}, false},
		{&stargate.RESTError{Op: "Seek", StatusCode: 503}, true},
		{&stargate.RESTError{Op: "Seek", StatusCode: 404}, false},
		{&stargate.ProxyError{Proxy: "http://p:3128", StatusCode: 407}, false},
		{&stargate.ProxyError{Proxy: "http://p:3128", StatusCode: 502}, true},
		{nil, false},
	} {
		if got := stargate.IsRetryable(tc.err); got != tc.want {
			t.Errorf("IsRetryable(%v) = %v", tc.err, got)
		}
	}
	if ce := (&stargate.ConnectError{StatusCode: 503, Message: "TopicTerminatedException"}); !errors.Is(ce, stargate.ErrServer) {
		t.Error("a terminated 503 no longer matches ErrServer")
	}
}
