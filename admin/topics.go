package admin

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/stargate-go/stargate"
)

// Topic names are accepted in any form stargate.ParseTopic accepts:
// "persistent://tenant/ns/name", "non-persistent://tenant/ns/name",
// "tenant/ns/name" or "name" (in public/default). Names the broker lists
// are full names, decoded.

// Topics lists the topics of a namespace, persistent and non-persistent,
// as full names. The partitions of a partitioned topic are listed one by
// one ("…/orders-partition-0"), the partitioned topic itself is not (see
// PartitionedTopics). System topics are left out.
func (c *Client) Topics(ctx context.Context, namespace string) ([]string, error) {
	return c.listTopics(ctx, "Topics", namespace, "")
}

// PartitionedTopics lists the partitioned topics of a namespace,
// persistent and non-persistent, as full names.
func (c *Client) PartitionedTopics(ctx context.Context, namespace string) ([]string, error) {
	return c.listTopics(ctx, "PartitionedTopics", namespace, "/partitioned")
}

func (c *Client) listTopics(ctx context.Context, op, namespace, suffix string) ([]string, error) {
	ns, err := namespaceSegments(namespace)
	if err != nil {
		return nil, err
	}
	var all []string
	for _, domain := range []string{"persistent", "non-persistent"} {
		var out []string
		r := request{Op: op, Name: namespace, Method: http.MethodGet, Path: v2 + "/" + domain + "/" + ns + suffix}
		if err := c.do(ctx, r, &out); err != nil {
			return nil, err
		}
		all = append(all, out...)
	}
	slices.Sort(all)
	return slices.Compact(all), nil
}

// topicCall runs one call on topic + suffix.
func (c *Client) topicCall(ctx context.Context, op, topic, method, suffix string, q url.Values, body, out any) error {
	t, err := parseTopic(topic)
	if err != nil {
		return err
	}
	return c.do(ctx, request{Op: op, Name: t.String(), Method: method, Path: t.path + suffix, Query: q, Body: body}, out)
}

// CreateTopic creates a non-partitioned topic. An existing topic is an
// error matching ErrConflict.
func (c *Client) CreateTopic(ctx context.Context, topic string) error {
	return c.topicCall(ctx, "CreateTopic", topic, http.MethodPut, "", nil, nil, nil)
}

// CreatePartitionedTopic creates a partitioned topic of n partitions
// (n ≥ 1); partition i is the topic "<topic>-partition-<i>".
func (c *Client) CreatePartitionedTopic(ctx context.Context, topic string, n int) error {
	if n < 1 {
		return argErr("partitions", itoa(n), "must be at least 1")
	}
	return c.topicCall(ctx, "CreatePartitionedTopic", topic, http.MethodPut, "/partitions", nil, n, nil)
}

// UpdatePartitions raises the partition count of a partitioned topic to
// n. The broker refuses to lower it (ErrConflict or ErrPreconditionFailed).
func (c *Client) UpdatePartitions(ctx context.Context, topic string, n int) error {
	if n < 1 {
		return argErr("partitions", itoa(n), "must be at least 1")
	}
	return c.topicCall(ctx, "UpdatePartitions", topic, http.MethodPost, "/partitions", nil, n, nil)
}

// Partitions returns the partition count of a partitioned topic, and 0 for
// a non-partitioned topic. Pulsar 4.0.8 answers a topic that does not
// exist with 404 (an error matching ErrNotFound).
func (c *Client) Partitions(ctx context.Context, topic string) (int, error) {
	var out struct {
		Partitions int `json:"partitions"`
	}
	err := c.topicCall(ctx, "Partitions", topic, http.MethodGet, "/partitions", nil, nil, &out)
	return out.Partitions, err
}

// DeleteTopic deletes a topic, partitioned (with all its partitions) or
// not. Without opts.Force a topic with connected producers or consumers
// is not deleted (an error matching ErrConflict or ErrPreconditionFailed).
// It first asks the partition count, to choose the broker's call.
func (c *Client) DeleteTopic(ctx context.Context, topic string, opts *DeleteOptions) error {
	n, err := c.Partitions(ctx, topic)
	if err != nil {
		return err
	}
	suffix := ""
	if n > 0 {
		suffix = "/partitions"
	}
	return c.topicCall(ctx, "DeleteTopic", topic, http.MethodDelete, suffix, opts.query(), nil, nil)
}

// UnloadTopic unloads a topic (every partition of a partitioned one) from
// its broker: the broker closes its producers and consumers, which
// reconnect, possibly to another broker.
func (c *Client) UnloadTopic(ctx context.Context, topic string) error {
	return c.topicCall(ctx, "UnloadTopic", topic, http.MethodPut, "/unload", nil, nil, nil)
}

// messageIDJSON is Pulsar's JSON form of a message ID (MessageIdImpl,
// BatchMessageIdImpl, ResetCursorData).
type messageIDJSON struct {
	LedgerID   int64  `json:"ledgerId"`
	EntryID    int64  `json:"entryId"`
	Partition  *int32 `json:"partitionIndex,omitempty"`
	BatchIndex *int32 `json:"batchIndex,omitempty"`
	BatchSize  int32  `json:"batchSize,omitempty"`
}

func (j messageIDJSON) id() stargate.MessageID {
	id := stargate.MessageID{LedgerID: j.LedgerID, EntryID: j.EntryID, Partition: -1, BatchIndex: -1, BatchSize: j.BatchSize}
	if j.Partition != nil {
		id.Partition = *j.Partition
	}
	if j.BatchIndex != nil {
		id.BatchIndex = *j.BatchIndex
	}
	if id.BatchSize < 0 {
		id.BatchSize = 0
	}
	return id
}

// idCall runs a call answered with a message ID; the ID's partition is
// the topic's when it names a partition and the broker does not say.
func (c *Client) idCall(ctx context.Context, op, topic, method, suffix string) (stargate.MessageID, error) {
	t, err := parseTopic(topic)
	if err != nil {
		return stargate.MessageID{}, err
	}
	var out messageIDJSON
	if err := c.do(ctx, request{Op: op, Name: t.String(), Method: method, Path: t.path + suffix}, &out); err != nil {
		return stargate.MessageID{}, err
	}
	id := out.id()
	if id.Partition < 0 {
		id.Partition = t.partition()
	}
	return id, nil
}

// TerminateTopic terminates a non-partitioned topic (or one partition):
// it accepts no more messages, ever, and consumers that have read
// everything learn that the topic ended. It returns the ID of the last
// message. For a partitioned topic, terminate each partition.
func (c *Client) TerminateTopic(ctx context.Context, topic string) (stargate.MessageID, error) {
	return c.idCall(ctx, "TerminateTopic", topic, http.MethodPost, "/terminate")
}

// LastMessageID returns the ID of the last message stored in a
// non-partitioned topic or one partition. On a topic without messages its
// EntryID is -1.
func (c *Client) LastMessageID(ctx context.Context, topic string) (stargate.MessageID, error) {
	return c.idCall(ctx, "LastMessageID", topic, http.MethodGet, "/lastMessageId")
}

// MessageIDByTime returns the ID of the first message of a non-partitioned
// topic (or one partition) published at or after t; after the last
// message it is the position the next message will take.
func (c *Client) MessageIDByTime(ctx context.Context, topic string, t time.Time) (stargate.MessageID, error) {
	if t.IsZero() || t.UnixMilli() < 0 {
		return stargate.MessageID{}, argErr("time", t.String(), "must be set and after 1970")
	}
	return c.idCall(ctx, "MessageIDByTime", topic, http.MethodGet, "/messageid/"+strconv.FormatInt(t.UnixMilli(), 10))
}
