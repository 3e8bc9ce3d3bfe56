package stargate

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// This file holds the handles of several connections: a PerPartition
// producer (one connection per partition, routing.go picks the partition)
// and a consumer of several connections (one per partition with
// PerPartition, Connections per topic or partition). Each connection is an
// ordinary one-connection Producer or Consumer with its own link, so each
// reconnects on its own; the handle the user holds delegates to them.

// defaultPartitionRefresh is how often the partition count is asked again:
// the Java client's autoUpdatePartitionsInterval.
const defaultPartitionRefresh = 60 * time.Second

// refreshEvery is the period of a PartitionRefresh option; 0 for never.
func refreshEvery(d time.Duration) time.Duration {
	switch {
	case d < 0:
		return 0
	case d == 0:
		return defaultPartitionRefresh
	}
	return d
}

// partitionCount asks the admin REST API how many partitions t has: 0 for
// a topic that is not partitioned, is itself a partition, or that the API
// does not know (404; the broker may create it on connection).
func (c *Client) partitionCount(ctx context.Context, t Topic) (int, error) {
	if isPartitionName(t.Name) {
		return 0, nil
	}
	var out struct {
		Partitions int `json:"partitions"`
	}
	err := c.rest(ctx, "Partitions", http.MethodGet, restTopicPath(t)+"/partitions", nil, &out)
	if errors.Is(err, ErrTopicNotFound) {
		return 0, nil
	}
	return out.Partitions, err
}

// partitionTopic is partition i of t.
func partitionTopic(t Topic, i int) Topic {
	t.Name = partitionName(t.Name, int32(i))
	return t
}

// openAll opens handles from to to-1 in parallel; if one fails, it closes
// the others and returns the first error by index.
func openAll[H interface{ Close() error }](ctx context.Context, from, to int, open func(context.Context, int) (H, error)) ([]H, error) {
	hs := make([]H, to-from)
	errs := make([]error, to-from)
	var wg sync.WaitGroup
	for i := from; i < to; i++ {
		wg.Go(func() { hs[i-from], errs[i-from] = open(ctx, i) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			for j, h := range hs {
				if errs[j] == nil {
					_ = h.Close()
				}
			}
			return nil, errs[i]
		}
	}
	return hs, nil
}

// grower is what a handle of several connections shares: the partition
// refresh and the close that stops it.
type grower struct {
	client  *Client
	topic   Topic
	ctx     context.Context // ends with close: bounds refreshes and their dials
	cancel  context.CancelFunc
	mu      sync.Mutex // guards closed against growth
	closed  bool
	wg      sync.WaitGroup // the refresh goroutine and watchers
	stopped chan struct{}  // closed by stop
	once    sync.Once
}

func newGrower(c *Client, t Topic) grower {
	ctx, cancel := context.WithCancel(context.Background())
	return grower{client: c, topic: t, ctx: ctx, cancel: cancel, stopped: make(chan struct{})}
}

// refresh runs grow(n) with the partition count every period until stop.
// It runs on its own goroutine, which stop joins.
func (g *grower) refresh(every time.Duration, have func() int, grow func(ctx context.Context, n int) error) {
	if every <= 0 {
		return
	}
	g.wg.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-g.stopped:
				return
			case <-tick.C:
			}
			ctx, cancel := context.WithTimeout(g.ctx, g.client.opts.DialTimeout)
			n, err := g.client.partitionCount(ctx, g.topic)
			if err == nil && n > have() {
				err = grow(ctx, n)
			}
			cancel()
			if err != nil && g.ctx.Err() == nil {
				g.client.logger().Warn("stargate: partition refresh failed", "topic", g.topic.String(), "err", err)
			}
		}
	})
}

// add runs store under the lock unless the handle is closed; it reports
// whether it ran (the caller closes what it opened otherwise).
func (g *grower) add(store func()) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	store()
	return true
}

// stop ends growth and joins the goroutines; it reports whether this was
// the first call.
func (g *grower) stop() bool {
	first := false
	g.once.Do(func() {
		first = true
		g.mu.Lock()
		g.closed = true
		g.mu.Unlock()
		g.cancel()
		close(g.stopped)
	})
	g.wg.Wait()
	return first
}

// closeAll closes handles in parallel: each Close is bounded, so all are.
func closeAll[H interface{ Close() error }](hs []H) {
	var wg sync.WaitGroup
	for _, h := range hs {
		wg.Go(func() { _ = h.Close() })
	}
	wg.Wait()
}

// mergeConn adds one connection's ConnStats to s: reconnects add up, the
// latest error wins.
func mergeConn(s *ConnStats, c ConnStats) {
	s.Reconnects += c.Reconnects
	if c.LastError != nil && c.LastErrorTime.After(s.LastErrorTime) {
		s.LastError, s.LastErrorTime = c.LastError, c.LastErrorTime
	}
}

// partProducer is a PerPartition producer: one Producer per partition.
type partProducer struct {
	grower
	opts  ProducerOptions
	q     url.Values
	route *router
	parts atomic.Pointer[[]*Producer] // by partition index; only grows
}

// newPartitionedProducer is NewProducer with PerPartition set.
func (c *Client) newPartitionedProducer(ctx context.Context, t Topic, o ProducerOptions, q url.Values) (*Producer, error) {
	n, err := c.partitionCount(ctx, t)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return c.newProducer(ctx, t, o, q, -1)
	}
	pp := &partProducer{grower: newGrower(c, t), opts: o, q: q, route: newRouter(&o, n)}
	parts, err := openAll(ctx, 0, n, pp.open)
	if err != nil {
		pp.cancel()
		return nil, err
	}
	pp.parts.Store(&parts)
	pp.refresh(refreshEvery(o.PartitionRefresh), func() int { return len(pp.kids()) }, pp.grow)
	return &Producer{client: c, opts: o, part: pp}, nil
}

func (pp *partProducer) open(ctx context.Context, i int) (*Producer, error) {
	return pp.client.newProducer(ctx, partitionTopic(pp.topic, i), pp.opts, pp.q, int32(i))
}

func (pp *partProducer) kids() []*Producer { return *pp.parts.Load() }

// grow connects to partitions len(kids) to n-1.
func (pp *partProducer) grow(ctx context.Context, n int) error {
	cur := pp.kids()
	more, err := openAll(ctx, len(cur), n, pp.open)
	if err != nil {
		return err
	}
	all := append(slices.Clip(cur), more...)
	if !pp.add(func() { pp.parts.Store(&all) }) {
		closeAll(more)
	}
	return nil
}

// send routes m to its partition's connection. Messages of one partition
// keep their order: the same connection, in the order of Send calls.
func (pp *partProducer) send(ctx context.Context, m Message) *SendFuture {
	kids := pp.kids()
	return kids[pp.route.pick(m.Key, len(kids))].Send(ctx, m)
}

func (pp *partProducer) flush(ctx context.Context) error {
	for _, k := range pp.kids() {
		if err := k.Flush(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (pp *partProducer) close() error {
	pp.stop()
	closeAll(pp.kids())
	return nil
}

func (pp *partProducer) stats() ProducerStats {
	var s ProducerStats
	for _, k := range pp.kids() {
		ks := k.Stats()
		s.Sent += ks.Sent
		s.SentBytes += ks.SentBytes
		s.Acked += ks.Acked
		s.Failed += ks.Failed
		mergeConn(&s.ConnStats, ks.ConnStats)
	}
	s.Pending = max(0, s.Sent-s.Acked-s.Failed)
	return s
}

// consumerJoin is what the connections of one partConsumer share.
type consumerJoin struct {
	wake chan struct{} // every connection's inbox signals it; the merged loop waits on it
	seq  *sequence     // the merged sequence: a connection that reconnects grants permits if it is ranging
}

// partConsumer is a consumer of several connections.
type partConsumer struct {
	grower
	sub   string
	opts  ConsumerOptions
	conns int        // connections per topic or partition
	q     url.Values // each connection's query
	join  consumerJoin
	kids  atomic.Pointer[[]*Consumer] // grouped by topic, conns each; only grows
	parts int                         // partitions at creation; 0 if not per partition
	next  int                         // the connection the loop takes from first; only the loop uses it
}

// newPartitionedConsumer is NewConsumer with PerPartition or more than
// one connection.
func (c *Client) newPartitionedConsumer(ctx context.Context, t Topic, sub string, o ConsumerOptions, q url.Values) (*Consumer, error) {
	n := 0
	if o.PerPartition {
		var err error
		if n, err = c.partitionCount(ctx, t); err != nil {
			return nil, err
		}
	}
	pc := &partConsumer{grower: newGrower(c, t), sub: sub, opts: o, conns: max(1, o.Connections), q: q, parts: n}
	cons := &Consumer{topic: t, subscription: sub, nonDurable: o.Mode == NonDurable, part: pc}
	cons.seq.take = pc.take
	pc.join = consumerJoin{wake: make(chan struct{}, 1), seq: &cons.seq}
	if n > 0 && o.DeadLetter.MaxRedeliveries > 0 && o.DeadLetter.Topic == "" {
		// Named after the topic, not after each partition.
		pc.q = cloneValues(q)
		pc.q.Set("deadLetterTopic", t.String()+"-"+sub+"-DLQ")
	}
	topics := max(1, n)
	kids, err := openAll(ctx, 0, topics*pc.conns, func(ctx context.Context, i int) (*Consumer, error) {
		return pc.open(ctx, i, pc.q)
	})
	if err != nil {
		pc.cancel()
		return nil, err
	}
	pc.kids.Store(&kids)
	pc.watch(kids)
	if n > 0 {
		pc.refresh(refreshEvery(o.PartitionRefresh), func() int { return len(pc.all()) / pc.conns }, pc.grow)
	}
	return cons, nil
}

// open connects connection i: of partition i/conns, or of the topic.
func (pc *partConsumer) open(ctx context.Context, i int, q url.Values) (*Consumer, error) {
	t := pc.topic
	if pc.parts > 0 {
		t = partitionTopic(t, i/pc.conns)
	}
	return pc.client.newConsumer(ctx, consumerPath(t, pc.sub), t, pc.sub, pc.opts, q, &pc.join)
}

func (pc *partConsumer) all() []*Consumer { return *pc.kids.Load() }

// watch wakes the merged loop when one of kids ends, so that it sees why.
func (pc *partConsumer) watch(kids []*Consumer) {
	for _, k := range kids {
		pc.wg.Go(func() {
			select {
			case <-k.l.finished():
				pc.poke()
			case <-pc.stopped:
			}
		})
	}
}

func (pc *partConsumer) poke() {
	select {
	case pc.join.wake <- struct{}{}:
	default:
	}
}

// grow subscribes to partitions up to n-1. They are new: everything in
// them was published after the consumer started, so they start at
// Earliest whatever InitialPosition says.
func (pc *partConsumer) grow(ctx context.Context, n int) error {
	cur := pc.all()
	q := cloneValues(pc.q)
	q.Set("subscriptionInitialPosition", Earliest.String())
	more, err := openAll(ctx, len(cur), n*pc.conns, func(ctx context.Context, i int) (*Consumer, error) {
		return pc.open(ctx, i, q)
	})
	if err != nil {
		return err
	}
	all := append(slices.Clip(cur), more...)
	if !pc.add(func() { pc.kids.Store(&all); pc.watch(more) }) {
		closeAll(more)
	}
	pc.poke()
	return nil
}

// take is the merged sequence's source: the next message of any
// connection, taking from each in turn so that none starves.
func (pc *partConsumer) take(ctx context.Context) (Message, error) {
	for {
		if err := pc.ended(); err != nil {
			return Message{}, err
		}
		kids := pc.all()
		for _, k := range kids {
			if m, ok := k.splitRest(ctx); ok { // the rest of a decrypted batch
				return m, nil
			}
		}
		for _, k := range kids {
			k.demand()
		}
		for j := range kids {
			k := kids[(pc.next+j)%len(kids)]
			m, ok := k.in.pop()
			if !ok {
				continue
			}
			pc.next = (pc.next + j + 1) % len(kids)
			if m.from.s.dead() {
				break // dropped, as Consumer.take drops it; look again
			}
			k.taken(m)
			m, ok, err := k.decrypted(ctx, m) // counts it as received
			if err != nil || ok {
				return m, err
			}
			break // discarded, or nothing left of a batch: look again
		}
		if pc.anyQueued(kids) {
			continue
		}
		select {
		case <-pc.join.wake:
		case <-pc.stopped:
		case <-ctx.Done():
			return Message{}, ctx.Err()
		}
	}
}

// anyQueued reports whether a connection holds a message (one the loop
// dropped as dead may have hidden a live one behind it).
func (pc *partConsumer) anyQueued(kids []*Consumer) bool {
	for _, k := range kids {
		k.in.mu.Lock()
		n := len(k.in.queue) - k.in.head
		k.in.mu.Unlock()
		if n > 0 {
			return true
		}
	}
	return false
}

// ended is ErrClosed after Close, or the terminal error of a connection
// that gave up.
func (pc *partConsumer) ended() error {
	select {
	case <-pc.stopped:
		return ErrClosed
	default:
	}
	for _, k := range pc.all() {
		if err := k.l.ended(); err != nil {
			return err
		}
	}
	return nil
}

func (pc *partConsumer) close() error {
	pc.stop()
	closeAll(pc.all())
	return nil
}

func (pc *partConsumer) stats() ConsumerStats {
	var s ConsumerStats
	for _, k := range pc.all() {
		ks := k.Stats()
		s.Received += ks.Received
		s.ReceivedBytes += ks.ReceivedBytes
		s.Redelivered += ks.Redelivered
		s.Acked += ks.Acked
		s.Nacked += ks.Nacked
		mergeConn(&s.ConnStats, ks.ConnStats)
	}
	return s
}

// groups returns the connections by topic (partition), conns each.
func (pc *partConsumer) groups() [][]*Consumer {
	return slices.Collect(slices.Chunk(pc.all(), pc.conns))
}

// isEndOfTopic is true once every partition is terminated and read.
func (pc *partConsumer) isEndOfTopic(ctx context.Context) (bool, error) {
	for _, g := range pc.groups() {
		end, err := g[0].IsEndOfTopic(ctx)
		if err != nil || !end {
			return false, err
		}
	}
	return true, nil
}

// unsubscribe deletes the subscription of every partition: the server
// refuses while other consumers are connected, so the other connections
// of each topic close first.
func (pc *partConsumer) unsubscribe(ctx context.Context) error {
	if err := pc.ended(); err != nil {
		return err
	}
	for _, g := range pc.groups() {
		if len(g) == 1 {
			if err := g[0].Unsubscribe(ctx); err != nil {
				return err
			}
			continue
		}
		closeAll(g[1:])
		if err := unsubscribeLast(ctx, g[0]); err != nil {
			return err
		}
	}
	return pc.close()
}

// unsubscribeLast unsubscribes k once the server has let the other
// connections of its subscription go, which it does asynchronously: while
// one is still attached, the server refuses by closing k's connection, and
// k asks again on its next one, as long as ctx allows.
func unsubscribeLast(ctx context.Context, k *Consumer) error {
	for {
		s := k.l.current()
		err := k.Unsubscribe(ctx)
		if err == nil || ctx.Err() != nil || k.l.ended() != nil {
			return err
		}
		if ns, nerr := k.l.next(ctx, s); ns == nil {
			return cmp.Or(nerr, err)
		}
	}
}

// seek resets the cursor of the message's partition (every topic's with
// a time) once per topic and replaces the connections of that topic.
func (pc *partConsumer) seek(ctx context.Context, id MessageID) error {
	if err := pc.seekable(ctx); err != nil {
		return err
	}
	if id.IsZero() {
		return argErr("message ID", "", "the zero MessageID; give a message's ID")
	}
	groups := pc.groups()
	if pc.parts > 0 {
		if id.Partition < 0 || int(id.Partition) >= len(groups) {
			return argErr("message ID", id.String(), "names no partition of the topic ("+strconv.Itoa(int(id.Partition))+")")
		}
		groups = groups[id.Partition : id.Partition+1]
	}
	return pc.seekGroups(ctx, groups, func(k *Consumer) error { return k.Seek(ctx, id) })
}

func (pc *partConsumer) seekTime(ctx context.Context, t time.Time) error {
	if err := pc.seekable(ctx); err != nil {
		return err
	}
	return pc.seekGroups(ctx, pc.groups(), func(k *Consumer) error { return k.SeekTime(ctx, t) })
}

func (pc *partConsumer) seekable(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return pc.ended()
}

// seekGroups seeks the first connection of each group, which resets the
// cursor, and replaces the other connections of the group too (what they
// hold is from before the reset).
func (pc *partConsumer) seekGroups(ctx context.Context, groups [][]*Consumer, first func(*Consumer) error) error {
	for _, g := range groups {
		if err := first(g[0]); err != nil {
			return err
		}
		for _, k := range g[1:] {
			if err := k.seek(ctx, "Seek", nil, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkV3 refuses the options of several connections on the v3 endpoint,
// whose one connection already covers several topics.
func (o *ConsumerOptions) checkV3() error {
	switch {
	case o.PerPartition:
		return argErr("ConsumerOptions.PerPartition", "true", "not for NewMultiTopicConsumer and NewPatternConsumer")
	case o.Connections > 1:
		return argErr("ConsumerOptions.Connections", strconv.Itoa(o.Connections), "not for NewMultiTopicConsumer and NewPatternConsumer")
	}
	return nil
}
