package admin

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/stargate-go/stargate"
)

// Subscription names may hold any character but NUL, and must not be
// blank; they are escaped for the broker, which decodes them twice.

// subCall runs one call on topic's subscription sub + suffix.
func (c *Client) subCall(ctx context.Context, op, topic, sub, method, suffix string, body any) error {
	t, err := parseTopic(topic)
	if err != nil {
		return err
	}
	p, err := subscriptionPath(t, sub)
	if err != nil {
		return err
	}
	return c.do(ctx, request{Op: op, Name: t.String() + " " + strconv.Quote(sub), Method: method, Path: p + suffix, Body: body}, nil)
}

// Subscriptions lists the names of a topic's subscriptions (for a
// partitioned topic, those of its partitions).
func (c *Client) Subscriptions(ctx context.Context, topic string) ([]string, error) {
	var out []string
	err := c.topicCall(ctx, "Subscriptions", topic, http.MethodGet, "/subscriptions", nil, nil, &out)
	return out, err
}

// CreateSubscription creates a durable subscription whose cursor starts at
// at: stargate.Earliest (every stored message is in its backlog),
// stargate.Latest (only messages published from now on), or a message ID
// (that message and the ones after it; for a message inside a batch, the
// whole batch: Pulsar 4.0.8 positions cursors on entries). On a
// partitioned topic every partition gets the subscription. An existing subscription is an error
// matching ErrConflict.
func (c *Client) CreateSubscription(ctx context.Context, topic, sub string, at stargate.MessageID) error {
	body, err := positionBody(at)
	if err != nil {
		return err
	}
	return c.subCall(ctx, "CreateSubscription", topic, sub, http.MethodPut, "", body)
}

// positionBody is the JSON form of a start position.
func positionBody(at stargate.MessageID) (messageIDJSON, error) {
	if at.IsZero() {
		return messageIDJSON{}, argErr("position", "", "the zero MessageID; use stargate.Earliest, stargate.Latest or a message's ID")
	}
	switch {
	case at.Equal(stargate.Earliest):
		return messageIDJSON{LedgerID: -1, EntryID: -1}, nil
	case at.Equal(stargate.Latest):
		return messageIDJSON{LedgerID: math.MaxInt64, EntryID: math.MaxInt64}, nil
	}
	p, b := at.Partition, at.BatchIndex
	return messageIDJSON{LedgerID: at.LedgerID, EntryID: at.EntryID, Partition: &p, BatchIndex: &b}, nil
}

// DeleteSubscription deletes a subscription. Without opts.Force a
// subscription with connected consumers is not deleted (an error matching
// ErrPreconditionFailed).
func (c *Client) DeleteSubscription(ctx context.Context, topic, sub string, opts *DeleteOptions) error {
	t, err := parseTopic(topic)
	if err != nil {
		return err
	}
	p, err := subscriptionPath(t, sub)
	if err != nil {
		return err
	}
	return c.do(ctx, request{Op: "DeleteSubscription", Name: t.String() + " " + strconv.Quote(sub), Method: http.MethodDelete, Path: p, Query: opts.query()}, nil)
}

// ResetCursorToTime moves a subscription's cursor to the first message
// published at or after t: older messages count as acknowledged, newer
// ones (acknowledged or not, while retention keeps them) are delivered
// again. The broker disconnects the subscription's consumers, which
// reconnect at the new position.
func (c *Client) ResetCursorToTime(ctx context.Context, topic, sub string, t time.Time) error {
	if t.IsZero() || t.UnixMilli() < 0 {
		return argErr("time", t.String(), "must be set and after 1970")
	}
	return c.subCall(ctx, "ResetCursorToTime", topic, sub, http.MethodPost, "/resetcursor/"+strconv.FormatInt(t.UnixMilli(), 10), nil)
}

// ResetCursor moves a subscription's cursor to the message id (delivered
// again, with the ones after it), or to stargate.Earliest or
// stargate.Latest. For a message inside a batch, the whole batch is
// delivered again (Pulsar 4.0.8 resets to the batch's entry). The broker disconnects the subscription's consumers,
// which reconnect at the new position. On a partitioned topic, an id with
// a partition moves only that partition's cursor.
func (c *Client) ResetCursor(ctx context.Context, topic, sub string, id stargate.MessageID) error {
	body, err := positionBody(id)
	if err != nil {
		return err
	}
	return c.subCall(ctx, "ResetCursor", topic, sub, http.MethodPost, "/resetcursor", body)
}

// SkipMessages acknowledges the next n (n ≥ 1) messages of a subscription's
// backlog without delivering them. The broker skips entries: a batch
// counts as one. It refuses partitioned topics (ErrNotAllowed); skip on
// each partition.
func (c *Client) SkipMessages(ctx context.Context, topic, sub string, n int) error {
	if n < 1 {
		return argErr("count", itoa(n), "must be at least 1")
	}
	return c.subCall(ctx, "SkipMessages", topic, sub, http.MethodPost, "/skip/"+itoa(n), nil)
}

// ClearBacklog acknowledges every message of a subscription's backlog.
func (c *Client) ClearBacklog(ctx context.Context, topic, sub string) error {
	return c.subCall(ctx, "ClearBacklog", topic, sub, http.MethodPost, "/skip_all", nil)
}

// ExpireMessages acknowledges the messages of a subscription's backlog
// published more than olderThan ago, a whole number of seconds, at least
// one: Pulsar 4.0.8 accepts 0 and expires nothing (ClearBacklog
// acknowledges everything). The broker expires asynchronously; the
// backlog shrinks shortly after the call returns.
func (c *Client) ExpireMessages(ctx context.Context, topic, sub string, olderThan time.Duration) error {
	if olderThan < time.Second || olderThan%time.Second != 0 || olderThan/time.Second > math.MaxInt32 {
		return argErr("age", olderThan.String(), "must be a whole number of seconds, from 1s to 2^31-1s")
	}
	return c.subCall(ctx, "ExpireMessages", topic, sub, http.MethodPost, "/expireMessages/"+strconv.FormatInt(int64(olderThan/time.Second), 10), nil)
}
