package stargate

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// ErrSeekUnsupported is returned by Consumer.Seek and Consumer.SeekTime on
// a consumer whose subscription they cannot move: Seek on any v3 consumer
// (NewMultiTopicConsumer, NewPatternConsumer), whose messages do not say
// which topic they came from; SeekTime on a pattern consumer (the topics
// it covers change); either on a NonDurable subscription. Pulsar 4.0.8
// does reset a NonDurable cursor, and the WebSocket server's consumer
// follows it on the same session, but then nothing tells the messages
// sent before the reset from those after; replacing the session, as Seek
// does, deletes a NonDurable subscription.
var ErrSeekUnsupported = errors.New("stargate: seek not supported by this consumer")

// Seek moves the subscription's cursor so that the message id and the
// ones after it are delivered (again), acknowledged or not, while the
// topic's retention keeps them; the messages before it count as
// acknowledged. For a message inside a batch the whole batch is delivered
// again (Pulsar 4.0.8 positions cursors on entries). On a partitioned
// topic only the partition of id moves. The move applies to the whole
// subscription, so every consumer of a Shared or Key_Shared subscription
// is affected.
//
// Seek resets the cursor through the broker's admin REST API on the
// service URL's host (ws:// as http://, wss:// as https://, with the
// client's TLS settings, token, header, proxy and dialer: a broker with
// its WebSocket service enabled serves both on one port; a separate
// WebSocket proxy, which serves no admin API, cannot seek), then replaces
// the consumer's connection and returns once the new one is subscribed.
// Messages in flight, received before the seek but not yet handed to the
// range loop, are dropped: after Seek returns the loop sees only messages
// delivered from the new position (a message the loop was being handed
// while Seek ran may still reach it). Messages yielded before Seek and not
// acknowledged need no Ack: acknowledging them returns nil and does
// nothing, and those at or after the new position come again. An Ack sent
// while Seek runs may reach the broker before or after the reset.
//
// Bad input is refused before any request: the zero id (an *ArgError),
// a closed consumer (ErrClosed), ctx already done (its error), a v3 or
// NonDurable consumer (ErrSeekUnsupported). A refusal of the admin API is
// a *RESTError; if ctx ends after the reset but before the new connection
// is up, Seek returns ctx's error and the consumer resumes at the new
// position by itself.
func (c *Consumer) Seek(ctx context.Context, id MessageID) error {
	if c.part != nil {
		return c.part.seek(ctx, id)
	}
	if err := c.seekable(ctx, false); err != nil {
		return err
	}
	if id.IsZero() {
		return argErr("message ID", "", "the zero MessageID; give a message's ID")
	}
	t := c.topic
	if id.Partition >= 0 && !isPartitionName(t.Name) {
		// The partitioned topic's endpoint would accept the ID too; naming
		// the partition keeps the call to the one partition that moves.
		t.Name = partitionName(t.Name, id.Partition)
	}
	p, b := id.Partition, id.BatchIndex
	body := restID{LedgerID: id.LedgerID, EntryID: id.EntryID, Partition: &p, BatchIndex: &b}
	return c.seek(ctx, "Seek", []string{restSubPath(t, c.subscription) + "/resetcursor"}, body)
}

// SeekTime moves the subscription's cursor to the first message published
// at or after t (by the broker's clock): later messages are delivered
// (again), earlier ones count as acknowledged. On a partitioned topic
// every partition moves; on a NewMultiTopicConsumer every topic of its
// list moves, one call each, in order (if one is refused, the ones before
// it have moved, and the connection is replaced anyway). Otherwise as
// Seek; the zero time, or one before 1970, is an *ArgError.
func (c *Consumer) SeekTime(ctx context.Context, t time.Time) error {
	if c.part != nil {
		return c.part.seekTime(ctx, t)
	}
	if err := c.seekable(ctx, true); err != nil {
		return err
	}
	if t.IsZero() || t.UnixMilli() < 0 {
		return argErr("time", t.String(), "must be set and after 1970")
	}
	topics := c.topics
	if !c.topic.IsZero() {
		topics = []Topic{c.topic}
	}
	var paths []string
	for _, tp := range topics {
		paths = append(paths, restSubPath(tp, c.subscription)+"/resetcursor/"+strconv.FormatInt(t.UnixMilli(), 10))
	}
	return c.seek(ctx, "SeekTime", paths, nil)
}

// seekable refuses a seek before any request; byTime allows a v3
// consumer with a topic list.
func (c *Consumer) seekable(ctx context.Context, byTime bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.l.ended(); err != nil {
		return err
	}
	if c.nonDurable || c.topic.IsZero() && (!byTime || len(c.topics) == 0) {
		return ErrSeekUnsupported
	}
	return nil
}

// seek resets the cursor (one call per path), then replaces the
// connection. The broker disconnects the subscription's consumers on a
// reset, but the WebSocket server's consumer reconnects by itself and
// keeps the session (Pulsar 4.0.8), so messages it had sent from before
// the reset would still arrive on it: the session is dropped, and with it
// what the inbox holds.
func (c *Consumer) seek(ctx context.Context, op string, paths []string, body any) error {
	var err error
	for i, p := range paths {
		if err = c.l.client.rest(ctx, op, http.MethodPost, p, body, nil); err != nil {
			if i == 0 {
				return err // nothing moved
			}
			break
		}
	}
	s := c.l.current()
	c.l.drop(s)
	if ns, nerr := c.l.next(ctx, s); ns == nil && err == nil {
		return orClosed(nerr)
	}
	return err
}

// startAtTime resolves o.StartTime to the reader start (exclusive) that
// makes the first message read the first one published at or after it:
// the entry before the one the broker names. (ledger, -1) is before a
// ledger's first entry; after the last message, the broker names the
// position the next message will take, so the reader reads what comes.
func (c *Client) startAtTime(ctx context.Context, t Topic, o ReaderOptions) (MessageID, error) {
	if o.Start != Latest || !o.StartMessageID.IsZero() {
		return MessageID{}, argErr("ReaderOptions.StartTime", o.StartTime.String(), "set only one of Start, StartMessageID and StartTime")
	}
	if o.StartTime.UnixMilli() < 0 {
		return MessageID{}, argErr("ReaderOptions.StartTime", o.StartTime.String(), "must be after 1970")
	}
	if err := ctx.Err(); err != nil {
		return MessageID{}, err
	}
	if !isPartitionName(t.Name) {
		var meta struct {
			Partitions int `json:"partitions"`
		}
		if err := c.rest(ctx, "StartTime", http.MethodGet, restTopicPath(t)+"/partitions", nil, &meta); err != nil {
			return MessageID{}, err
		}
		if meta.Partitions > 0 {
			return MessageID{}, argErr("ReaderOptions.StartTime", o.StartTime.String(),
				"a partitioned topic can be read only from Earliest or Latest; read each partition ("+partitionName(t.String(), 0)+", …)")
		}
	}
	var id restID
	path := restTopicPath(t) + "/messageid/" + strconv.FormatInt(o.StartTime.UnixMilli(), 10)
	if err := c.rest(ctx, "StartTime", http.MethodGet, path, nil, &id); err != nil {
		return MessageID{}, err
	}
	return MessageID{LedgerID: id.LedgerID, EntryID: id.EntryID - 1, Partition: -1, BatchIndex: -1}, nil
}
