package stargatetest

import (
	"cmp"
	"slices"
	"time"
)

// subscription is a cursor over one topic shared by its consumers. Positions
// are indexes into topic.msgs.
type subscription struct {
	t       *topic
	name    string
	typ     string
	durable bool
	reader  bool

	consumers []*consumer // in connect order
	active    *consumer   // Exclusive/Failover
	rr        int         // Shared round-robin index
	keyOwner  map[string]*consumer

	cursor       int              // next position never read
	markDelete   int              // every position below is acked
	acked        map[int]struct{} // acked positions >= markDelete
	replay       map[int]struct{} // positions to (re)deliver before the cursor
	pending      map[int]pendingAck
	redeliveries map[int]int // Shared/Key_Shared redelivery counts
	seq          uint64
	msgOut       int64          // messages delivered (msgOutCounter)
	wakeups      map[int64]bool // scheduled deliverAt re-dispatches (unix ms)
}

// pendingAck is a delivered, unacked position; seq tells a stale timer from
// a current one.
type pendingAck struct {
	c   *consumer
	seq uint64
}

func newSubscription(t *topic, name string, p consumerParams) *subscription {
	start := len(t.msgs)
	if p.earliest {
		start = 0
	}
	return &subscription{
		t: t, name: name, typ: p.subType, durable: p.durable,
		keyOwner: make(map[string]*consumer), cursor: start, markDelete: start,
		acked: make(map[int]struct{}), replay: make(map[int]struct{}),
		pending: make(map[int]pendingAck), redeliveries: make(map[int]int),
		wakeups: make(map[int64]bool),
	}
}

// sharedLike reports whether the broker tracks single messages: only Shared
// and Key_Shared have redelivery counts, individual redelivery and delayed
// delivery (single-active dispatchers use RedeliveryTrackerDisabled).
func (sub *subscription) sharedLike() bool {
	return sub.typ == subShared || sub.typ == subKeyShared
}

func (sub *subscription) isAcked(pos int) bool {
	if pos < sub.markDelete {
		return true
	}
	_, ok := sub.acked[pos]
	return ok
}

func (sub *subscription) ack(pos int) {
	delete(sub.pending, pos)
	delete(sub.replay, pos)
	delete(sub.redeliveries, pos)
	if pos < sub.markDelete {
		return
	}
	sub.acked[pos] = struct{}{}
	for {
		if _, ok := sub.acked[sub.markDelete]; !ok {
			break
		}
		delete(sub.acked, sub.markDelete)
		sub.markDelete++
	}
}

// backlog counts messages not yet acked.
func (sub *subscription) backlog() int {
	return len(sub.t.msgs) - sub.markDelete - len(sub.acked)
}

// atEnd reports whether a terminated topic has been read to its end
// (the broker's ReachedEndOfTopic, §3.6 isEndOfTopic).
func (sub *subscription) atEnd() bool {
	return sub.t.terminate && sub.cursor >= len(sub.t.msgs) && len(sub.replay) == 0
}

// requeue moves a delivered position back for redelivery.
func (sub *subscription) requeue(pos int, countIt bool) {
	delete(sub.pending, pos)
	if sub.isAcked(pos) {
		return
	}
	if countIt && sub.sharedLike() {
		sub.redeliveries[pos]++
	}
	sub.replay[pos] = struct{}{}
}

// requeueAllOf moves every position pending at c back (Exclusive/Failover
// redelivery rewinds the cursor; the count is not incremented).
func (sub *subscription) requeueAllOf(c *consumer) {
	for pos, p := range sub.pending {
		if p.c == c {
			sub.requeue(pos, false)
		}
	}
}

// updateActive picks the active consumer of an Exclusive/Failover
// subscription like the broker's AbstractDispatcherSingleActiveConsumer:
// consumers sorted by priority, then name; among those of the highest
// priority, index partition % n on a partition, otherwise the consumer the
// topic name's Murmur3 hash falls on in a ring of 100 hashes per consumer
// name. A change hands the old active's unacked messages over.
func (sub *subscription) updateActive() {
	if sub.sharedLike() {
		return
	}
	var want *consumer
	if len(sub.consumers) > 0 {
		sorted := slices.Clone(sub.consumers)
		slices.SortStableFunc(sorted, func(a, b *consumer) int {
			return cmp.Or(cmp.Compare(a.p.priority, b.p.priority), cmp.Compare(a.name, b.name))
		})
		n := len(sorted)
		for i, c := range sorted {
			if c.p.priority != sorted[0].p.priority {
				n = i
				break
			}
		}
		if sub.t.partition >= 0 {
			want = sorted[int(sub.t.partition)%n]
		} else {
			want = sorted[hashRingPick(sub.t.name, sorted[:n])]
		}
	}
	if sub.active != nil && sub.active != want {
		sub.requeueAllOf(sub.active)
	}
	sub.active = want
}

// pick chooses the consumer for e. When it returns nil, skip reports that
// e may be passed over for later messages (Key_Shared with a busy owner).
func (sub *subscription) pick(e *entry) (c *consumer, skip bool) {
	switch sub.typ {
	case subShared:
		n := len(sub.consumers)
		for i := range n {
			c := sub.consumers[(sub.rr+i)%n]
			if c.canReceive() {
				sub.rr = (sub.rr + i + 1) % n
				return c, false
			}
		}
		return nil, false
	case subKeyShared:
		return sub.pickByKey(e)
	}
	if sub.active != nil && sub.active.canReceive() {
		return sub.active, false
	}
	return nil, false
}

// pickByKey keeps each key on one consumer; a new key goes to the consumer
// owning the fewest keys.
func (sub *subscription) pickByKey(e *entry) (*consumer, bool) {
	key := ""
	if e.key != nil {
		key = *e.key
	}
	owner := sub.keyOwner[key]
	if owner == nil {
		counts := make(map[*consumer]int)
		for _, o := range sub.keyOwner {
			counts[o]++
		}
		for _, c := range sub.consumers {
			if owner == nil || counts[c] < counts[owner] {
				owner = c
			}
		}
		sub.keyOwner[key] = owner
	}
	if owner.canReceive() {
		return owner, false
	}
	for _, c := range sub.consumers {
		if c.canReceive() {
			return nil, true
		}
	}
	return nil, false
}

// dispatchLocked delivers what it can: redeliveries first in position
// order, then new messages from the cursor.
func (s *Server) dispatchLocked(sub *subscription) {
	if len(sub.consumers) == 0 {
		return
	}
	sub.updateActive()
	now := time.Now()
	replay := make([]int, 0, len(sub.replay))
	for pos := range sub.replay {
		replay = append(replay, pos)
	}
	slices.Sort(replay)
	ri := 0
	for {
		var pos int
		fromReplay := ri < len(replay)
		switch {
		case fromReplay:
			pos = replay[ri]
		case sub.cursor < len(sub.t.msgs):
			pos = sub.cursor
		default:
			return
		}
		// advance consumes the candidate; keep leaves it queued for later.
		advance := func(keep bool) {
			if fromReplay {
				ri++
				if !keep {
					delete(sub.replay, pos)
				}
				return
			}
			sub.cursor++
			if keep {
				sub.replay[pos] = struct{}{}
			}
		}
		if _, busy := sub.pending[pos]; busy || sub.isAcked(pos) {
			advance(false)
			continue
		}
		e := sub.t.msgs[pos]
		if sub.sharedLike() && e.deliverAt.After(now) {
			advance(true)
			s.wakeAtLocked(sub, e.deliverAt)
			continue
		}
		c, skip := sub.pick(e)
		if c == nil {
			if skip {
				advance(true)
				continue
			}
			return
		}
		advance(false)
		s.deliverLocked(sub, c, pos)
	}
}

// wakeAtLocked re-dispatches sub when a delayed message becomes due.
func (s *Server) wakeAtLocked(sub *subscription, at time.Time) {
	ms := at.UnixMilli()
	if sub.wakeups[ms] {
		return
	}
	sub.wakeups[ms] = true
	s.sched.after(time.Until(at)+time.Millisecond, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(sub.wakeups, ms)
		s.dispatchLocked(sub)
	})
}

// deliverLocked pushes position pos to c.
func (s *Server) deliverLocked(sub *subscription, c *consumer, pos int) {
	e := sub.t.msgs[pos]
	sub.seq++
	seq := sub.seq
	count := 0
	if sub.sharedLike() {
		count = sub.redeliveries[pos]
	}
	if e.enc != nil && c.p.crypto == "DISCARD" {
		sub.ack(pos) // the proxy's consumer cannot decrypt and drops it
		return
	}
	if sub.reader {
		sub.ack(pos) // a reader's non-durable cursor just moves on
	} else {
		sub.pending[pos] = pendingAck{c: c, seq: seq}
	}
	if e.enc != nil && c.p.crypto == "FAIL" {
		return // withheld: unacknowledged, back after a reconnect or an ack timeout
	}
	id := e.id
	if c.viaParent[sub] {
		id.partition = sub.t.partition
	}
	idStr := id.encode()
	if !c.reader {
		c.ids[idStr] = ackRef{sub: sub, pos: pos}
	}
	c.sess.send(renderMessage(e, idStr, count, c.reader))
	sub.t.msgOut++
	sub.msgOut++
	c.delivered()
	if c.p.ackTimeout > 0 && !sub.reader {
		s.sched.after(c.p.ackTimeout, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.redeliverLocked(sub, pos, seq)
		})
	}
}

// redeliverLocked handles an expired nack delay or ack timeout of the
// delivery seq of pos: Shared/Key_Shared redeliver that message with
// redeliveryCount+1, or dead-letter it once the count has reached
// maxRedeliverCount (the Java client's DLQ rule); Exclusive/Failover
// redeliver every unacked message of the consumer with the count unchanged
// (the Java client's redeliverUnacknowledgedMessages() fallback).
func (s *Server) redeliverLocked(sub *subscription, pos int, seq uint64) {
	p, ok := sub.pending[pos]
	if !ok || p.seq != seq {
		return
	}
	switch {
	case !sub.sharedLike():
		sub.requeueAllOf(p.c)
	case p.c.p.maxRedeliver > 0 && sub.redeliveries[pos] >= p.c.p.maxRedeliver && s.deadLetterLocked(p.c, sub, pos):
		sub.ack(pos)
	default:
		sub.requeue(pos, true)
	}
	s.dispatchLocked(sub)
}
