package stargatetest

import (
	"slices"
	"time"
)

// entry is one stored message. Its id has partition -1: the partition is
// added when rendered for a client that reached the topic through its
// partitioned base name (§1.4, §4).
type entry struct {
	id          messageID
	payload     []byte
	props       map[string]string
	key         *string
	eventTime   int64 // epoch ms; 0 = not set
	publishTime time.Time
	deliverAt   time.Time // zero = immediate
	enc         *encInfo  // client-side encryption; nil for plain messages
}

// topic is a non-partitioned topic or one partition of a partitioned one.
type topic struct {
	name      string
	parent    string // base name when this is a partition of a partitioned topic
	partition int32  // from a "-partition-N" name, else -1
	ledger    int64
	msgs      []*entry
	terminate bool
	subs      map[string]*subscription
	producers map[*producer]struct{}
	msgIn     int64
	msgOut    int64
}

// message is what a producer, Publish or the DLQ hands to store.
type message struct {
	payload   []byte
	props     map[string]string
	key       *string
	eventTime int64
	deliverAt time.Time
	enc       *encInfo
}

// newTopicLocked creates a topic with a fresh ledger id.
func (s *Server) newTopicLocked(name, parent string) *topic {
	t := &topic{
		name:      name,
		parent:    parent,
		partition: partitionIndex(name),
		ledger:    s.nextLedg,
		subs:      make(map[string]*subscription),
		producers: make(map[*producer]struct{}),
	}
	s.nextLedg++
	s.topics[name] = t
	return t
}

// partsLocked returns the topics behind a full name: the partitions of a
// partitioned topic, or the topic itself. ok is false if it does not exist.
func (s *Server) partsLocked(full string) (parts []*topic, partitioned, ok bool) {
	if n, isParent := s.parents[full]; isParent {
		for i := range n {
			parts = append(parts, s.topics[partitionName(full, i)])
		}
		return parts, true, true
	}
	if t, exists := s.topics[full]; exists {
		return []*topic{t}, false, true
	}
	return nil, false, false
}

// resolveLocked is partsLocked with auto-creation (§2.5: 404 without it).
func (s *Server) resolveLocked(full string) (parts []*topic, partitioned, ok bool) {
	if parts, partitioned, ok = s.partsLocked(full); ok || s.opts.DisableAutoTopicCreation {
		return parts, partitioned, ok
	}
	t := s.newTopicLocked(full, "")
	s.topicCreatedLocked(full)
	return []*topic{t}, false, true
}

// storeLocked appends msgs to t as one entry each, or as one batch entry,
// and dispatches them. It returns the ids (partition -1).
func (s *Server) storeLocked(t *topic, msgs []message, batched bool) []messageID {
	entryID := int64(0)
	if n := len(t.msgs); n > 0 {
		entryID = t.msgs[n-1].id.entry + 1
	}
	now := s.now()
	pub := now.Truncate(time.Millisecond)
	ids := make([]messageID, 0, len(msgs))
	for i, m := range msgs {
		id := messageID{ledger: t.ledger, entry: entryID, partition: -1, batchIndex: -1}
		if batched {
			id.batchIndex, id.batchSize = int32(i), int32(len(msgs))
		} else if i > 0 {
			id.entry = entryID + int64(i)
		}
		t.msgs = append(t.msgs, &entry{
			id: id, payload: m.payload, props: m.props, key: m.key,
			eventTime: m.eventTime, publishTime: pub, deliverAt: m.deliverAt, enc: m.enc,
		})
		ids = append(ids, id)
	}
	t.msgIn += int64(len(msgs))
	for _, name := range sortedKeys(t.subs) {
		s.dispatchLocked(t.subs[name])
	}
	return ids
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
