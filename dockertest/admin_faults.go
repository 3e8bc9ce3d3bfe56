package dockertest

import (
	"context"
	"net/http"
)

// This file holds the admin calls the fault tests use: unloading a topic,
// reading a subscription's backlog and a topic's last message position.

// Unload unloads a topic from its broker (PUT …/unload): the broker closes
// the topic's producers and consumers, which the clients inside the
// WebSocket service re-attach transparently (the WebSocket sessions stay
// open). For a partitioned topic every partition is unloaded.
func (a *Admin) Unload(ctx context.Context, topic string) error { return a.c.UnloadTopic(ctx, topic) }

// Partitions returns the partition count of a partitioned topic, 0 for a
// non-partitioned one (or one that does not exist).
func (a *Admin) Partitions(ctx context.Context, topic string) (int, error) {
	return a.c.Partitions(ctx, topic)
}

// SubscriptionBacklog returns the precise backlog (messages not yet
// acknowledged) of subscription on topic, summed over the partitions of a
// partitioned topic. Acknowledgements reach the broker asynchronously:
// poll it. A subscription the topic does not have is an error.
func (a *Admin) SubscriptionBacklog(ctx context.Context, topic, subscription string) (int64, error) {
	n, err := a.Partitions(ctx, topic)
	if err != nil {
		return 0, err
	}
	var subs map[string]SubscriptionStats
	if n > 0 {
		st, err := a.PartitionedStats(ctx, topic)
		if err != nil {
			return 0, err
		}
		subs = st.Subscriptions
	} else {
		st, err := a.TopicStats(ctx, topic)
		if err != nil {
			return 0, err
		}
		subs = st.Subscriptions
	}
	s, ok := subs[subscription]
	if !ok {
		return 0, &HTTPError{Method: http.MethodGet, Path: topic + " stats", StatusCode: http.StatusNotFound,
			Body: "no subscription " + subscription}
	}
	return s.MsgBacklog, nil
}

// Position is a stored message's place in a topic (or one partition).
type Position struct {
	LedgerID   int64
	EntryID    int64
	Partition  int32
	BatchIndex int32
}

// LastMessagePosition returns the position of the last message stored in a
// non-partitioned topic or in one partition ("<topic>-partition-<i>"). An
// empty topic answers entry -1.
func (a *Admin) LastMessagePosition(ctx context.Context, topic string) (Position, error) {
	id, err := a.c.LastMessageID(ctx, topic)
	if err != nil {
		return Position{}, err
	}
	return Position{LedgerID: id.LedgerID, EntryID: id.EntryID, Partition: id.Partition, BatchIndex: id.BatchIndex}, nil
}
