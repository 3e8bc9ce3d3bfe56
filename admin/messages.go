package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/stargate-go/stargate"
)

// PeekMessages returns up to n (n ≥ 1) messages of a subscription's
// backlog, from its oldest unacknowledged one, without acknowledging or
// delivering them; fewer when the backlog is shorter. Messages of a batch
// are returned one by one with their batch index. Each stored entry (a
// message or a batch) costs one request.
//
// Payload, Key, Properties, EventTime, PublishTime, Topic and ID are set
// (RedeliveryCount is not). The broker decompresses payloads. For a
// message sent outside a batch, the key and properties travel in HTTP
// headers, which Pulsar writes in ISO-8859-1: characters beyond it arrive
// garbled (inside a batch they arrive exactly). Properties need Pulsar
// 3.1 or later (one JSON header, PIP-279).
//
// A partitioned topic cannot be peeked (ErrNotAllowed): peek its
// partitions. An unknown subscription is an error matching ErrNotFound
// (the broker itself would peek from the start of the topic).
func (c *Client) PeekMessages(ctx context.Context, topic, sub string, n int) ([]stargate.Message, error) {
	t, err := parseTopic(topic)
	if err != nil {
		return nil, err
	}
	p, err := subscriptionPath(t, sub)
	if err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, argErr("count", itoa(n), "must be at least 1")
	}
	subs, err := c.Subscriptions(ctx, topic)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(subs, sub) {
		return nil, fmt.Errorf("admin: PeekMessages %s: subscription %q: %w", t, sub, ErrNotFound)
	}
	var msgs []stargate.Message
	for pos := 1; len(msgs) < n; pos++ {
		r := request{Op: "PeekMessages", Name: t.String() + " " + strconv.Quote(sub), Method: http.MethodGet, Path: p + "/position/" + itoa(pos)}
		resp, err := c.send(ctx, r, "*/*")
		if errors.Is(err, ErrNotFound) && pos > 1 || isMessageNotFound(err) {
			break // the end of the backlog
		}
		if err != nil {
			return nil, err
		}
		entry, err := decodeEntry(t, -1, resp)
		if err != nil {
			return nil, fmt.Errorf("admin: PeekMessages %s: %w", t, err)
		}
		msgs = append(msgs, entry...)
	}
	return msgs[:min(n, len(msgs))], nil
}

// isMessageNotFound reports the broker's answer past the last message.
func isMessageNotFound(err error) bool {
	e, ok := errors.AsType[*Error](err)
	return ok && e.StatusCode == http.StatusNotFound && e.Reason == "Message not found"
}

// GetMessage returns the message id names in a topic (see PeekMessages
// for what is set). An id with a partition may be given with the
// partitioned topic's name. When id names a batch as a whole (BatchIndex
// -1), the batch's first message is returned.
func (c *Client) GetMessage(ctx context.Context, topic string, id stargate.MessageID) (stargate.Message, error) {
	t, err := parseTopic(topic)
	if err != nil {
		return stargate.Message{}, err
	}
	if id.IsZero() || id.LedgerID < 0 || id.EntryID < 0 {
		return stargate.Message{}, argErr("message ID", id.GoString(), "must name a stored message (ledger and entry ≥ 0)")
	}
	if id.Partition >= 0 && t.partition() < 0 {
		if t, err = parseTopic(t.String() + "-partition-" + strconv.Itoa(int(id.Partition))); err != nil {
			return stargate.Message{}, err
		}
	}
	r := request{Op: "GetMessage", Name: t.String() + " " + id.GoString(), Method: http.MethodGet,
		Path: t.path + "/ledger/" + strconv.FormatInt(id.LedgerID, 10) + "/entry/" + strconv.FormatInt(id.EntryID, 10)}
	resp, err := c.send(ctx, r, "*/*")
	if err != nil {
		return stargate.Message{}, err
	}
	msgs, err := decodeEntry(t, id.Partition, resp)
	if err != nil {
		return stargate.Message{}, fmt.Errorf("admin: GetMessage %s: %w", t, err)
	}
	i := max(id.BatchIndex, 0)
	if int(i) >= len(msgs) {
		return stargate.Message{}, fmt.Errorf("admin: GetMessage %s: entry %d:%d holds %d messages, no batch index %d: %w",
			t, id.LedgerID, id.EntryID, len(msgs), id.BatchIndex, ErrNotFound)
	}
	return msgs[i], nil
}
