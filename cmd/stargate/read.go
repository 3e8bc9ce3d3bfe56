package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/admin"
)

var readCommand = &command{
	name:  "read",
	brief: "read a topic from a position, without a subscription",
	usage: readUsage,
	run:   runRead,
}

const readUsage = `Usage: stargate read TOPIC [flags]

Reads TOPIC without a subscription (nothing is acknowledged or retained)
and prints each message on stdout. Runs until -n messages, --end, --wait,
the end of a terminated topic, or Ctrl-C.

Flags:
  --start POS             earliest (default), latest, a message ID, or a time.
                          An ID is the wire form ("id" of -o json) or
                          ledger:entry[:partition[:batch]]; reading starts after it.
                          A time is RFC 3339 or a duration ago (10m); reading
                          starts at the first message published since (admin API;
                          not on partitioned topics, which start only at earliest or latest)
  --end                   stop at the last message the topic held when reading began
` + recvUsage + `
Connection flags: see 'stargate help'.
`

func runRead(a *app, ctx context.Context, args []string) error {
	fs := a.newFlagSet("read")
	var rf recvFlags
	rf.register(fs)
	start, end := "earliest", false
	fs.StringVar(&start, "start", start, "")
	fs.BoolVar(&end, "end", false, "")
	args, err := a.parse(fs, args, readUsage, "TOPIC")
	if err != nil {
		return err
	}
	if err := rf.check("read"); err != nil {
		return err
	}
	format, err := a.output("read", "text", "text", "json", "payload")
	if err != nil {
		return err
	}
	topic := args[0]
	if _, err := stargate.ParseTopic(topic); err != nil {
		return err
	}
	// The reader keeps the server's default window: it holds no
	// subscription, so reading ahead takes nothing from anyone. (With a
	// window of 1 and a start ID, Pulsar 4.0.8 delivered nothing at all:
	// the message skipped for the exclusive start seems to keep the only
	// permit.)
	opts := &stargate.ReaderOptions{Name: rf.name, StopAtEndOfTopic: true}
	var at time.Time
	switch s := strings.ToLower(start); {
	case s == "earliest", s == "latest":
		readerFrom(opts, s, stargate.MessageID{})
	default:
		if t, err := parseAgo(start, time.Now()); err == nil {
			at = t
			break
		}
		id, err := parseMessageID(start)
		if err != nil {
			return &usageError{msg: "read: --start " + err.Error() + ", or a time", hint: "stargate read"}
		}
		readerFrom(opts, "id", id)
	}
	r, err := a.resolve()
	if err != nil {
		return err
	}
	rc := &receiving{a: a, f: &rf, mw: newMsgWriter(a.stdout, format, rf.forceBase64), meter: nil}
	if !at.IsZero() || end {
		ac, err := r.admin()
		if err != nil {
			return err
		}
		defer ac.CloseIdleConnections()
		if !at.IsZero() {
			id, err := startAtTime(ctx, ac, topic, at)
			if err != nil {
				return adminErr(ctx, err)
			}
			readerFrom(opts, "id", id)
		}
		if end {
			last, err := lastIDs(ctx, ac, topic)
			if err != nil {
				return adminErr(ctx, err)
			}
			if len(last) == 0 {
				a.newMeter("read").finish(" (the topic is empty)")
				return nil
			}
			rc.done = endTracker(last)
		}
	}
	client, err := r.client()
	if err != nil {
		return err
	}
	dctx, cancel := a.dialCtx(ctx)
	rd, err := client.NewReader(dctx, topic, opts)
	cancel()
	if err != nil {
		return a.dialError(ctx, err)
	}
	defer rd.Close()
	rc.meter = a.newMeter("read")
	return rc.run(ctx, rd.Messages)
}

// adminErr classifies an admin call's error as runAdmin does.
func adminErr(ctx context.Context, err error) error {
	var ae *admin.Error
	switch {
	case errors.As(err, &ae), errors.Is(err, stargate.ErrInvalidArgument):
		return err
	case ctx.Err() != nil:
		return errInterrupted
	}
	return &connectionError{err}
}

// startAtTime returns the reader start (exclusive) that makes the first
// message read the first one published at or after t: the entry before it.
// (ledger, -1) is before the ledger's first entry. ReaderOptions.StartTime
// does the same, but always through the service URL's host; the tool keeps
// its own so that --admin-url applies (a WebSocket proxy serves no admin
// API).
func startAtTime(ctx context.Context, ac *admin.Client, topic string, t time.Time) (stargate.MessageID, error) {
	if n, err := ac.Partitions(ctx, topic); err != nil {
		return stargate.MessageID{}, err
	} else if n > 0 {
		return stargate.MessageID{}, &usageError{msg: fmt.Sprintf("read: --start TIME: %s is partitioned; the server starts readers of partitioned topics only at earliest or latest (read a partition: %s-partition-0)", topic, topic)}
	}
	id, err := ac.MessageIDByTime(ctx, topic, t)
	if err != nil {
		return stargate.MessageID{}, err
	}
	return stargate.MessageID{LedgerID: id.LedgerID, EntryID: id.EntryID - 1, Partition: id.Partition, BatchIndex: -1}, nil
}

// lastIDs returns the last message ID of the topic, or of each partition
// holding messages, by partition index (-1 for a non-partitioned topic).
func lastIDs(ctx context.Context, ac *admin.Client, topic string) (map[int32]stargate.MessageID, error) {
	n, err := ac.Partitions(ctx, topic)
	if err != nil {
		return nil, err
	}
	names := []string{topic}
	if n > 0 {
		t, _ := stargate.ParseTopic(topic)
		names = names[:0]
		for i := range n {
			names = append(names, fmt.Sprintf("%s-partition-%d", t, i))
		}
	}
	last := map[int32]stargate.MessageID{}
	for i, name := range names {
		id, err := ac.LastMessageID(ctx, name)
		if err != nil {
			return nil, err
		}
		if id.EntryID < 0 {
			continue // nothing stored
		}
		p := int32(-1)
		if n > 0 {
			p = int32(i)
		}
		last[p] = id
	}
	return last, nil
}

// endTracker returns a function reporting, message by message, whether every
// partition has reached its last ID.
func endTracker(last map[int32]stargate.MessageID) func(stargate.Message) bool {
	left := len(last)
	return func(m stargate.Message) bool {
		if l, ok := last[m.ID.Partition]; ok && reached(m.ID, l) {
			delete(last, m.ID.Partition)
			left--
		}
		return left == 0
	}
}

// reached reports whether id is at or after last, the last message of its
// partition as the admin API gives it (the last entry, with the batch
// index of its last message when it holds a batch).
func reached(id, last stargate.MessageID) bool {
	switch {
	case id.LedgerID != last.LedgerID:
		return id.LedgerID > last.LedgerID
	case id.EntryID != last.EntryID:
		return id.EntryID > last.EntryID
	case last.BatchIndex < 0:
		return id.BatchIndex < 0 || id.BatchIndex >= id.BatchSize-1
	}
	return id.BatchIndex >= last.BatchIndex
}
