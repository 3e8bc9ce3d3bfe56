package integration

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/dockertest"
)

// The handle side of the fault matrix: what each row produces, consumes or
// reads while its faults happen, and what it checks afterwards.

// sendLoop is the producing half of a cell: it sends seq from its start
// until stop is closed, waiting while ahead() says the consumer lags, and
// a watcher goroutine marks each future's outcome in the tally.
type sendLoop struct {
	c      *cell
	send   func(ctx context.Context, seq int) *stargate.SendFuture
	ahead  func(seq int) bool // true while seq may not be sent yet; nil: never
	ctx    context.Context
	cancel context.CancelFunc
	stop   chan struct{}
	done   chan struct{} // closed when the loop and the watcher have ended
	first  int
}

type pendingSend struct {
	seq int
	f   *stargate.SendFuture
}

func (c *cell) startSending(first int, send func(ctx context.Context, seq int) *stargate.SendFuture, ahead func(int) bool) *sendLoop {
	ctx, cancel := context.WithCancel(c.ctx)
	s := &sendLoop{c: c, send: send, ahead: ahead, ctx: ctx, cancel: cancel, stop: make(chan struct{}), done: make(chan struct{}), first: first}
	futs := make(chan pendingSend, 4096)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(futs)
		for seq := first; ; seq++ {
			// While the handle lags by more than maxAhead, the producer slows
			// to a trickle instead of stopping: a non-durable consumer may
			// have lost what was sent, and only new messages show it is back.
			for waited := 0; s.ahead != nil && s.ahead(seq) && waited < 20; waited++ {
				select {
				case <-s.stop:
					return
				case <-ctx.Done():
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
			select {
			case <-s.stop:
				return
			case <-ctx.Done():
				return
			default:
			}
			c.tl.mu.Lock()
			c.tl.sent++ // before Send: a delivery may be recorded before Send returns
			c.tl.mu.Unlock()
			futs <- pendingSend{seq, send(ctx, seq)}
		}
	})
	wg.Go(func() {
		for p := range futs {
			// Unbounded: every future completes; a stuck one stalls the cell's progress.
			_, err := p.f.Wait(context.Background())
			c.tl.mu.Lock()
			if err != nil {
				c.tl.failed++
				if c.tl.failed <= 3 {
					c.t.Logf("send %d: %v", p.seq, err)
				}
			} else {
				c.tl.acked++
				c.tl.published[p.seq] = true
			}
			c.tl.mu.Unlock()
			if c.spec.kind == kindProducer {
				c.tl.progress.Add(1)
			}
		}
	})
	go func() { wg.Wait(); close(s.done) }()
	return s
}

// finish stops sending and waits for every future, failing the cell if
// they stop completing for stallLimit. close closes the producers (after a
// stall, that is what completes the stuck futures).
func (s *sendLoop) finish(closeProducers func()) {
	close(s.stop)
	c := s.c
	c.waitFor("futures completing", func() (bool, int64) {
		select {
		case <-s.done:
			return true, 0
		default:
		}
		c.tl.mu.Lock()
		defer c.tl.mu.Unlock()
		return false, int64(c.tl.acked + c.tl.failed)
	})
	s.cancel()
	closeProducers()
	<-s.done
}

// producerOptions for every producer of the matrix: a send timeout long
// enough for a broker restart on a loaded machine.
func (c *cell) producerOptions() *stargate.ProducerOptions {
	return &stargate.ProducerOptions{Batching: c.spec.batching, MaxInFlight: 100, SendTimeout: 3 * time.Minute, PerPartition: c.spec.perPartition}
}

// runProducer: the producer is the handle under test. Afterwards the topic
// is read back partition by partition, directly: every acknowledged message
// must be stored at least once.
func (c *cell) runProducer() {
	c.keepStored()
	prod, err := c.faulty.NewProducer(c.ctx, c.topics[0], c.producerOptions())
	if err != nil {
		c.t.Fatalf("NewProducer: %v", err)
	}
	c.t.Cleanup(func() { prod.Close() })
	loop := c.startSending(0, func(ctx context.Context, seq int) *stargate.SendFuture {
		_, m := c.message(seq)
		return prod.Send(ctx, m)
	}, nil)
	c.driveFaults()
	loop.finish(func() { c.closeTimed("producer", prod.Close) })
	if c.t.Failed() {
		return
	}
	c.readBack()
	c.assertCommon()
	if n := c.lost(); n > 0 {
		c.t.Errorf("%d acknowledged messages are not stored", n)
	}
}

// keepStored creates a durable subscription at the start of the cell's
// topic (every partition), so that the broker keeps every message until the
// read-back. Without one, nothing needs the messages: with the standalone's
// default retention of 0, the ledger an unload closes may be trimmed at once,
// and the read-back found a whole partition's messages gone ("300
// acknowledged messages are not stored", lastMessageId -1:-1).
func (c *cell) keepStored() {
	cons, err := c.direct.NewConsumer(c.ctx, c.topics[0], "keep-stored",
		&stargate.ConsumerOptions{InitialPosition: stargate.Earliest})
	if err != nil {
		c.t.Fatalf("keep-stored subscription: %v", err)
	}
	cons.Close()
}

// readBack reads every partition of the topic from the start to its last
// stored message, recording each copy.
func (c *cell) readBack() {
	parts := []string{c.topics[0]}
	if c.spec.partitioned {
		parts = nil
		for i := range 3 {
			parts = append(parts, c.topics[0]+"-partition-"+strconv.Itoa(i))
		}
	}
	for _, p := range parts {
		last, err := c.admin.LastMessagePosition(c.ctx, p)
		if err != nil {
			c.t.Errorf("last message of %s: %v", p, err)
			return
		}
		if last.EntryID < 0 {
			continue
		}
		r, err := c.direct.NewReader(c.ctx, p, &stargate.ReaderOptions{Start: stargate.Earliest})
		if err != nil {
			c.t.Errorf("reading back %s: %v", p, err)
			return
		}
		rctx, cancel := context.WithCancel(c.ctx)
		var reached bool
		var mu sync.Mutex
		var wg sync.WaitGroup
		wg.Go(func() {
			for m, err := range r.Messages(rctx) {
				if err != nil {
					return
				}
				c.recordMsg(m, 0)
				id := m.ID
				if id.LedgerID > last.LedgerID || id.LedgerID == last.LedgerID && id.EntryID > last.EntryID ||
					id.LedgerID == last.LedgerID && id.EntryID == last.EntryID && (id.BatchSize == 0 || id.BatchIndex >= id.BatchSize-1) {
					mu.Lock()
					reached = true
					mu.Unlock()
					return
				}
			}
		})
		c.waitFor("reading back "+p, func() (bool, int64) {
			mu.Lock()
			defer mu.Unlock()
			c.tl.mu.Lock()
			defer c.tl.mu.Unlock()
			return reached, int64(c.tl.deliveries)
		})
		cancel()
		wg.Wait()
		r.Close()
	}
}

// recordMsg parses a received message and records it.
func (c *cell) recordMsg(m stargate.Message, topicIdx int) {
	seq, err := strconv.Atoi(string(m.Payload))
	c.tl.mu.Lock()
	bad := err != nil || seq < 0 || seq >= c.tl.sent ||
		c.spec.kind == kindReader && seq < c.liveFrom // before the reader's start
	if bad {
		c.tl.unexpected++
	}
	c.tl.mu.Unlock()
	if bad {
		c.t.Logf("unexpected payload %q", m.Payload)
		return
	}
	if strings.HasPrefix(m.Key, "t1-") {
		topicIdx = 1
	}
	c.tl.record(seq, m.Key, m.ID, m.RedeliveryCount, topicIdx)
}

// runConsumerLike: consumers, readers and v3 consumers are the handle
// under test; producers send directly, as fast as the handle keeps up
// (at most maxAhead ahead).
func (c *cell) runConsumerLike() {
	prods := make([]*stargate.Producer, len(c.topics))
	for i, tp := range c.topics {
		p, err := c.direct.NewProducer(c.ctx, tp, c.producerOptions())
		if err != nil {
			c.t.Fatalf("NewProducer: %v", err)
		}
		prods[i] = p
		c.t.Cleanup(func() { p.Close() }) // after a Fatal; Close is idempotent
	}
	closeProducers := func() {
		for _, p := range prods {
			c.closeTimed("producer", p.Close)
		}
	}
	send := func(ctx context.Context, seq int) *stargate.SendFuture {
		i, m := c.message(seq)
		return prods[i].Send(ctx, m)
	}

	// Readers start on a stored backlog, kept by a durable subscription
	// (see keepStored): a reader's own cursor is not durable, and after an
	// unload the broker trimmed a ledger the reader had not read yet (210
	// messages of a partitioned cluster cell never came).
	first := 0
	var startID stargate.MessageID
	if c.spec.kind == kindReader {
		c.keepStored()
		futs := make([]*stargate.SendFuture, preload)
		for seq := range preload {
			c.tl.sent++
			futs[seq] = send(c.ctx, seq)
		}
		for seq, f := range futs {
			id, err := f.Wait(c.ctx)
			if err != nil {
				c.t.Fatalf("preload %d: %v", seq, err)
			}
			c.tl.acked++
			c.tl.published[seq] = true
			if seq == preload/2-1 {
				startID = id
			}
		}
		switch c.spec.start {
		case "earliest":
			c.liveFrom = 0
		case "latest":
			c.liveFrom = preload
		case "id":
			c.liveFrom = preload / 2
		}
		first = preload
	}

	// The handles under test.
	type handle struct {
		msgs  func(context.Context) func(func(stargate.Message, error) bool)
		close func() error
	}
	var hs []handle
	switch c.spec.kind {
	case kindReader:
		o := &stargate.ReaderOptions{ReceiverQueueSize: 100}
		switch c.spec.start {
		case "earliest":
			o.Start = stargate.Earliest
		case "id":
			o.StartMessageID = startID
		}
		r, err := c.faulty.NewReader(c.ctx, c.topics[0], o)
		if c.spec.start == "id" && c.spec.partitioned {
			// The server refuses a message ID on a partitioned topic ("The
			// partitioned topic startMessageId is illegal"): the cell checks
			// that the refusal is typed.
			if err == nil {
				r.Close()
				c.t.Fatalf("NewReader from %#v on a partitioned topic: accepted; the cell expects a refusal", startID)
			}
			if !isRefusal(err) {
				c.t.Fatalf("NewReader from an ID on a partitioned topic: %v (%T), want an *ArgError or *ConnectError", err, err)
			}
			c.refused = err
			c.notes = append(c.notes, "refused: "+err.Error())
			closeProducers()
			return
		}
		if err != nil {
			c.t.Fatalf("NewReader: %v", err)
		}
		c.t.Cleanup(func() { r.Close() })
		hs = append(hs, handle{func(ctx context.Context) func(func(stargate.Message, error) bool) { return r.Messages(ctx) }, r.Close})
	default:
		o := &stargate.ConsumerOptions{Type: c.spec.subType, InitialPosition: stargate.Earliest,
			PerPartition: c.spec.perPartition, Connections: c.spec.conns}
		if c.spec.nonDurable {
			o.Mode, o.InitialPosition = stargate.NonDurable, stargate.Latest
		}
		if c.spec.pull {
			o.PullMode, o.PullWindow = true, 50
		} else {
			o.ReceiverQueueSize = 100
		}
		for range c.spec.consumers() {
			var cons *stargate.Consumer
			var err error
			switch {
			case c.spec.kind == kindConsumer:
				cons, err = c.faulty.NewConsumer(c.ctx, c.topics[0], c.sub, o)
			case c.spec.pattern:
				i := strings.LastIndexByte(c.topics[0], '/') + 1 // the namespace is literal
				pat := c.topics[0][:i] + regexp.QuoteMeta(strings.TrimSuffix(c.topics[0][i:], "-t0")) + "-t.*"
				cons, err = c.faulty.NewPatternConsumer(c.ctx, pat, c.sub, o)
			default:
				cons, err = c.faulty.NewMultiTopicConsumer(c.ctx, c.topics, c.sub, o)
			}
			if err != nil {
				c.t.Fatalf("subscribing: %v", err)
			}
			c.t.Cleanup(func() { cons.Close() })
			hs = append(hs, handle{func(ctx context.Context) func(func(stargate.Message, error) bool) { return cons.Messages(ctx) }, cons.Close})
		}
		if c.spec.subType == stargate.Failover && len(hs) > 1 {
			// The broker picks the active consumer up to 1 s after the
			// second one joined; messages sent before may go to either.
			time.Sleep(1500 * time.Millisecond)
		}
	}

	// Consume: record each message, acknowledge consumer messages.
	rctx, stopRanging := context.WithCancel(c.ctx)
	var wg sync.WaitGroup
	for _, h := range hs {
		wg.Go(func() {
			for m, err := range h.msgs(rctx) {
				if err != nil {
					if rctx.Err() == nil {
						c.t.Errorf("handle gave up: %v", err)
					}
					return
				}
				c.recordMsg(m, 0)
				if c.spec.kind != kindReader {
					if err := m.Ack(c.ctx); err != nil {
						c.tl.mu.Lock()
						c.tl.ackErrs++
						if c.tl.firstAck == nil {
							c.tl.firstAck = err
						}
						c.tl.mu.Unlock()
					}
				}
				c.gate.RLock() // waits while heldFault holds the loop
				c.gate.RUnlock()
			}
		})
	}
	cleanup := func() {
		stopRanging()
		wg.Wait()
		for _, h := range hs {
			c.closeTimed("handle", h.close)
		}
		closeProducers()
	}

	loop := c.startSending(first, send, func(seq int) bool {
		c.tl.mu.Lock()
		defer c.tl.mu.Unlock()
		return seq-max(c.tl.maxSeq, first) > maxAhead
	})
	c.driveFaults()
	if c.spec.kind == kindConsumer && c.spec.nonDurable {
		// What a non-durable consumer is promised: every message published
		// once it is subscribed again (it was seen making progress).
		c.tl.mu.Lock()
		c.liveFrom = c.tl.sent
		c.tl.mu.Unlock()
	}
	loop.finish(func() {})
	if c.t.Failed() {
		cleanup()
		return
	}
	// Catch up: everything promised must arrive.
	c.waitFor("delivery of every published message", func() (bool, int64) {
		return c.tl.missing(c.liveFrom) == 0, c.tl.progress.Load()
	})
	// Durable subscriptions: the backlog drains to 0 (acks are asynchronous).
	if c.spec.kind != kindReader && !c.spec.nonDurable && !c.t.Failed() {
		c.waitFor("backlog 0", func() (bool, int64) {
			var total int64
			for _, tp := range c.topics {
				n, err := c.admin.SubscriptionBacklog(c.ctx, tp, c.sub)
				if err != nil {
					if !dockertest.IsStatus(err, 404) {
						c.t.Logf("backlog of %s: %v", tp, err)
					}
					return false, -1
				}
				total += n
			}
			c.tl.mu.Lock()
			d := c.tl.deliveries
			c.tl.mu.Unlock()
			return total == 0, total*1_000_000 + int64(d)
		})
	}
	cleanup()
	c.assertCommon()
	if n := c.lost(); n > 0 && !c.brokerStalled {
		c.t.Errorf("%d published messages (from seq %d on) never delivered", n, c.liveFrom)
	}
	if c.spec.kind == kindReader {
		c.tl.mu.Lock()
		if c.tl.repeats > 0 {
			c.t.Errorf("the reader yielded %d messages twice", c.tl.repeats)
		}
		c.tl.mu.Unlock()
	}
}
