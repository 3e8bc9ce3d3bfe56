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
// start: stargate.Earliest (every stored message is in its backlog) or
// stargate.Latest (only messages published from now on). On a partitioned
// topic every partition gets the subscription. An existing subscription is
// an error matching ErrConflict. CreateSubscriptionAt starts at a message.
func (c *Client) CreateSubscription(ctx context.Context, topic, sub string, start stargate.Position) error {
	body, err := startBody(start)
	if err != nil {
		return err
	}
	return c.subCall(ctx, "CreateSubscription", topic, sub, http.MethodPut, "", body)
}

// CreateSubscriptionAt creates a durable subscription whose cursor starts
// at the message id: that message and the ones after it are its backlog
// (for a message inside a batch, the whole batch: Pulsar 4.0.8 positions
// cursors on entries). Otherwise as CreateSubscription.
func (c *Client) CreateSubscriptionAt(ctx context.Context, topic, sub string, id stargate.MessageID) error {
	body, err := idBody(id)
	if err != nil {
		return err
	}
	return c.subCall(ctx, "CreateSubscription", topic, sub, http.MethodPut, "", body)
}

// startBody is the JSON form of stargate.Earliest or stargate.Latest.
func startBody(p stargate.Position) (messageIDJSON, error) {
	switch p {
	case stargate.Earliest:
		return messageIDJSON{LedgerID: -1, EntryID: -1}, nil
	case stargate.Latest:
		return messageIDJSON{LedgerID: math.MaxInt64, EntryID: math.MaxInt64}, nil
	}
	return messageIDJSON{}, argErr("position", p.String(), "must be stargate.Earliest or stargate.Latest")
}

// idBody is the JSON form of a message ID as a cursor position.
func idBody(id stargate.MessageID) (messageIDJSON, error) {
	if id.IsZero() {
		return messageIDJSON{}, argErr("message ID", "", "the zero MessageID; give a message's ID")
	}
	p, b := id.Partition, id.BatchIndex
	return messageIDJSON{LedgerID: id.LedgerID, EntryID: id.EntryID, Partition: &p, BatchIndex: &b}, nil
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
// again, on every partition of a partitioned topic. The subscription's
// consumers continue from the new position (a WebSocket consumer's session
// stays open: messages it had already received may still be delivered;
// stargate's Consumer.SeekTime drops them).
func (c *Client) ResetCursorToTime(ctx context.Context, topic, sub string, t time.Time) error {
	if t.IsZero() || t.UnixMilli() < 0 {
		return argErr("time", t.String(), "must be set and after 1970")
	}
	return c.subCall(ctx, "ResetCursorToTime", topic, sub, http.MethodPost, "/resetcursor/"+strconv.FormatInt(t.UnixMilli(), 10), nil)
}

// ResetCursor moves a subscription's cursor to the message id (delivered
// again, with the ones after it). For a message inside a batch, the whole
// batch is delivered again (Pulsar 4.0.8 resets to the batch's entry). The
// subscription's consumers continue from the new position (a WebSocket
// consumer's session stays open: messages it had already received may
// still be delivered; stargate's Consumer.Seek drops them). Pulsar 4.0.8
// refuses a reset to a position on a partitioned topic's own name (405,
// ErrNotAllowed): reset each partition ("name-partition-N", the topic
// of a message's ID) or use ResetCursorToTime.
func (c *Client) ResetCursor(ctx context.Context, topic, sub string, id stargate.MessageID) error {
	body, err := idBody(id)
	if err != nil {
		return err
	}
	return c.subCall(ctx, "ResetCursor", topic, sub, http.MethodPost, "/resetcursor", body)
}

// ResetCursorToPosition moves a subscription's cursor to stargate.Earliest
// (every stored message is delivered again) or stargate.Latest (the
// backlog is skipped). As with ResetCursor, consumers continue from there,
// and a partitioned topic's own name is refused (405): reset each
// partition.
func (c *Client) ResetCursorToPosition(ctx context.Context, topic, sub string, p stargate.Position) error {
	body, err := startBody(p)
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
