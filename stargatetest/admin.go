package stargatetest

import (
	"fmt"
	"slices"
	"time"
)

// CreateTopic creates a non-partitioned topic, like
// PUT /admin/v2/persistent/{tenant}/{ns}/{topic}. topic may be a full name
// ("persistent://public/default/x"), "tenant/ns/x" or a bare "x"
// (public/default). It returns ErrTopicExists if the name is taken.
func (s *Server) CreateTopic(topic string) error {
	return s.CreatePartitionedTopic(topic, 0)
}

// CreatePartitionedTopic creates a topic with the given number of
// partitions ("…-partition-0" to "…-partition-{n-1}"). Zero creates a
// non-partitioned topic.
func (s *Server) CreatePartitionedTopic(topic string, partitions int) error {
	full, err := normalizeTopic(topic)
	if err != nil {
		return fmt.Errorf("stargatetest: %w", err)
	}
	if partitions < 0 {
		return fmt.Errorf("stargatetest: negative partition count %d", partitions)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, _, ok := s.partsLocked(full); ok {
		return fmt.Errorf("%w: %s", ErrTopicExists, full)
	}
	if partitions == 0 {
		s.newTopicLocked(full, "")
	} else {
		s.parents[full] = partitions
		for i := range partitions {
			s.newTopicLocked(partitionName(full, i), full)
		}
	}
	s.topicCreatedLocked(full)
	return nil
}

// TerminateTopic terminates a topic (all partitions of a partitioned one):
// producers' sends fail with send-error:8, new producers get 503, and
// consumers that have read everything see {"endOfTopic":true}.
func (s *Server) TerminateTopic(topic string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	parts, err := s.adminPartsLocked(topic)
	if err != nil {
		return err
	}
	for _, t := range parts {
		t.terminate = true
	}
	return nil
}

// DeleteTopic deletes a topic and its subscriptions, like a forced
// DELETE on the admin API: sockets on it are dropped first.
func (s *Server) DeleteTopic(topic string) error {
	full, err := normalizeTopic(topic)
	if err != nil {
		return fmt.Errorf("stargatetest: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	parts, _, ok := s.partsLocked(full)
	if !ok {
		return fmt.Errorf("%w: %s", ErrTopicNotFound, full)
	}
	s.dropLocked(full)
	for _, t := range parts {
		delete(s.topics, t.name)
	}
	delete(s.parents, full)
	return nil
}

func (s *Server) adminPartsLocked(topic string) ([]*topic, error) {
	full, err := normalizeTopic(topic)
	if err != nil {
		return nil, fmt.Errorf("stargatetest: %w", err)
	}
	parts, _, ok := s.partsLocked(full)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrTopicNotFound, full)
	}
	return parts, nil
}

// TopicStats is a subset of the admin API's topic stats; for a partitioned
// topic the partitions are summed.
type TopicStats struct {
	MsgIn         int64 // messages stored (msgInCounter)
	MsgOut        int64 // messages pushed to consumers and readers, redeliveries included (msgOutCounter)
	Publishers    int   // connected producers
	Terminated    bool
	Subscriptions map[string]SubscriptionStats
}

// SubscriptionStats describes one subscription.
type SubscriptionStats struct {
	Type            string // Exclusive, Shared, Failover or Key_Shared
	Durable         bool
	MsgBacklog      int64 // messages not yet acknowledged
	UnackedMessages int64 // delivered and not yet acknowledged
	Consumers       int   // connected consumers (readers count as one)
}

// Stats returns the stats of a topic.
func (s *Server) Stats(topic string) (TopicStats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	parts, err := s.adminPartsLocked(topic)
	if err != nil {
		return TopicStats{}, err
	}
	st := TopicStats{Subscriptions: make(map[string]SubscriptionStats), Terminated: true}
	publishers := make(map[*producer]struct{})
	for _, t := range parts {
		st.MsgIn += t.msgIn
		st.MsgOut += t.msgOut
		st.Terminated = st.Terminated && t.terminate
		for p := range t.producers {
			publishers[p] = struct{}{}
		}
		for name, sub := range t.subs {
			ss := st.Subscriptions[name]
			ss.Type, ss.Durable = sub.typ, sub.durable
			ss.MsgBacklog += int64(sub.backlog())
			ss.UnackedMessages += int64(len(sub.pending))
			ss.Consumers = max(ss.Consumers, len(sub.consumers))
			st.Subscriptions[name] = ss
		}
	}
	st.Publishers = len(publishers)
	return st, nil
}

// Message is a message as Publish takes it and Messages returns it.
type Message struct {
	// ID is the base64 message id as a consumer of the topic named in the
	// call sees it (with the partition for a partitioned topic). Set by
	// Messages; ignored by Publish.
	ID string
	// Topic is the topic or partition that stores the message. Set by
	// Messages; ignored by Publish.
	Topic      string
	Payload    []byte
	Key        string // "" = no key
	Properties map[string]string
	EventTime  time.Time // zero = not set
	// DeliverAt delays delivery on Shared and Key_Shared subscriptions.
	DeliverAt time.Time
	// PublishTime is set by the server (Options.Now). Ignored by Publish.
	PublishTime time.Time
}

// Publish stores m on topic as if a producer had sent it (creating the
// topic unless auto-creation is disabled) and returns its message id.
// On a partitioned topic a keyed message goes to hash(key) % n, a
// key-less one round-robin.
func (s *Server) Publish(topic string, m Message) (string, error) {
	full, err := normalizeTopic(topic)
	if err != nil {
		return "", fmt.Errorf("stargatetest: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	parts, partitioned, ok := s.resolveLocked(full)
	if !ok {
		return "", fmt.Errorf("%w: %s", ErrTopicNotFound, full)
	}
	msg := message{payload: slices.Clone(m.Payload), deliverAt: m.DeliverAt}
	if m.Key != "" {
		k := m.Key
		msg.key = &k
	}
	if len(m.Properties) > 0 {
		msg.props = make(map[string]string, len(m.Properties))
		for k, v := range m.Properties {
			msg.props[k] = v
		}
	}
	if !m.EventTime.IsZero() {
		msg.eventTime = m.EventTime.UnixMilli()
	}
	pr := producer{parts: parts, partitioned: partitioned, rr: s.prodSeq, p: producerParams{routing: "RoundRobinPartition"}}
	s.prodSeq++
	t := pr.route(msg.key)
	if t.terminate {
		return "", fmt.Errorf("stargatetest: topic %s is terminated", t.name)
	}
	id := s.storeLocked(t, []message{msg}, false)[0]
	if partitioned {
		id.partition = t.partition
	}
	return id.encode(), nil
}

// Messages returns the messages stored on topic in order (partition by
// partition for a partitioned topic), acknowledged or not.
func (s *Server) Messages(topic string) ([]Message, error) {
	full, err := normalizeTopic(topic)
	if err != nil {
		return nil, fmt.Errorf("stargatetest: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	parts, partitioned, ok := s.partsLocked(full)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrTopicNotFound, full)
	}
	var out []Message
	for _, t := range parts {
		for _, e := range t.msgs {
			id := e.id
			if partitioned {
				id.partition = t.partition
			}
			m := Message{ID: id.encode(), Topic: t.name, Payload: slices.Clone(e.payload),
				PublishTime: e.publishTime, DeliverAt: e.deliverAt}
			if e.key != nil {
				m.Key = *e.key
			}
			if len(e.props) > 0 {
				m.Properties = make(map[string]string, len(e.props))
				for k, v := range e.props {
					m.Properties[k] = v
				}
			}
			if e.eventTime != 0 {
				m.EventTime = time.UnixMilli(e.eventTime)
			}
			out = append(out, m)
		}
	}
	return out, nil
}
