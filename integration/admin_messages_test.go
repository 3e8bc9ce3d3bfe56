package integration

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/admin"
)

// sent is what the test produced: the messages and their IDs.
type sent struct {
	msgs []stargate.Message
	ids  []stargate.MessageID
}

// produce sends n messages with a key, properties and an event time,
// batched or not, all before waiting, so that batching groups them.
func (e *adminEnv) produce(topic string, n int, batched bool) sent {
	e.t.Helper()
	opts := &stargate.ProducerOptions{}
	if batched {
		opts = &stargate.ProducerOptions{Batching: true, BatchingMaxPublishDelay: 200 * time.Millisecond}
	}
	p, err := e.c.NewProducer(e.ctx, topic, opts)
	e.check("NewProducer", err)
	defer p.Close()
	var s sent
	var futs []*stargate.SendFuture
	for i := range n {
		m := stargate.Message{
			Payload:    []byte("payload " + strconv.Itoa(i)),
			Key:        "key é+" + strconv.Itoa(i),
			Properties: map[string]string{"a+b": "v é " + strconv.Itoa(i), "Upper Case": "X"},
			EventTime:  time.UnixMilli(1_700_000_000_000 + int64(i)),
		}
		s.msgs = append(s.msgs, m)
		futs = append(futs, p.Send(e.ctx, m))
	}
	for i, f := range futs {
		id, err := f.Wait(e.ctx)
		e.check("send "+strconv.Itoa(i), err)
		s.ids = append(s.ids, id)
	}
	return s
}

// sameMessage fails the test unless got is the message want, sent with id.
func (e *adminEnv) sameMessage(what string, got, want stargate.Message, id stargate.MessageID, topic string) {
	e.t.Helper()
	switch {
	case string(got.Payload) != string(want.Payload):
		e.t.Fatalf("%s: payload %q, want %q", what, got.Payload, want.Payload)
	case got.Key != want.Key:
		e.t.Fatalf("%s: key %q, want %q", what, got.Key, want.Key)
	case !maps.Equal(got.Properties, want.Properties):
		e.t.Fatalf("%s: properties %v, want %v", what, got.Properties, want.Properties)
	case !got.EventTime.Equal(want.EventTime):
		e.t.Fatalf("%s: event time %v, want %v", what, got.EventTime, want.EventTime)
	case !got.ID.Equal(id):
		e.t.Fatalf("%s: ID %#v, want %#v", what, got.ID, id)
	case got.PublishTime.IsZero() || time.Since(got.PublishTime).Abs() > 5*time.Minute:
		e.t.Fatalf("%s: publish time %v", what, got.PublishTime)
	case got.Topic.String() != topic:
		e.t.Fatalf("%s: topic %q, want %q", what, got.Topic, topic)
	}
}

func TestAdminPeekAndGetMessages(t *testing.T) {
	adminVariants(t, func(e *adminEnv) {
		for _, batched := range []bool{false, true} {
			e.t.Run(fmt.Sprintf("batched=%v", batched), func(t *testing.T) {
				e := *e
				e.t = t
				adminPeek(&e, batched)
			})
		}
	})
}

func adminPeek(e *adminEnv, batched bool) {
	topic, sub := e.topic(), "peek+sub é/%"
	e.deleteTopicLater(topic)
	e.check("CreateTopic", e.a.CreateTopic(e.ctx, topic))
	e.check("CreateSubscription", e.a.CreateSubscription(e.ctx, topic, sub, stargate.Earliest))
	s := e.produce(topic, 8, batched)
	if batched && !slices.ContainsFunc(s.ids, func(id stargate.MessageID) bool { return id.BatchIndex >= 0 }) {
		e.t.Fatalf("no message was batched: %#v", s.ids)
	}

	peeked, err := e.a.PeekMessages(e.ctx, topic, sub, 100)
	e.check("PeekMessages", err)
	if len(peeked) != len(s.msgs) {
		e.t.Fatalf("PeekMessages returned %d messages, want %d", len(peeked), len(s.msgs))
	}
	for i, m := range peeked {
		e.sameMessage("peeked "+strconv.Itoa(i), m, s.msgs[i], s.ids[i], topic)
	}
	two, err := e.a.PeekMessages(e.ctx, topic, sub, 2)
	e.check("PeekMessages 2", err)
	if len(two) != 2 || !two[1].ID.Equal(s.ids[1]) {
		e.t.Fatalf("PeekMessages(2) = %d messages", len(two))
	}
	for i, id := range s.ids {
		m, err := e.a.GetMessage(e.ctx, topic, id)
		e.check("GetMessage", err)
		e.sameMessage("GetMessage "+strconv.Itoa(i), m, s.msgs[i], id, topic)
	}
	_, err = e.a.GetMessage(e.ctx, topic, stargate.MessageID{LedgerID: 1 << 40, EntryID: 0, Partition: -1, BatchIndex: -1})
	e.wantErr("GetMessage of a missing ledger", err, admin.ErrNotFound)
	// Past the last entry of the ledger, Pulsar 4.0.8 answers 500 with a
	// stack trace; the reason keeps only its message.
	_, err = e.a.GetMessage(e.ctx, topic, stargate.MessageID{LedgerID: s.ids[0].LedgerID, EntryID: 1 << 40, Partition: -1, BatchIndex: -1})
	e.wantErr("GetMessage past the last entry", err, admin.ErrServer)
	if ae, _ := errors.AsType[*admin.Error](err); ae == nil || !strings.HasPrefix(ae.Reason, "LastConfirmedEntry is") {
		e.t.Fatalf("GetMessage past the last entry: reason %q", err)
	}
	_, err = e.a.PeekMessages(e.ctx, topic, "no such subscription", 1)
	e.wantErr("PeekMessages of a missing subscription", err, admin.ErrNotFound)

	last := s.ids[len(s.ids)-1]
	id, err := e.a.LastMessageID(e.ctx, topic)
	e.check("LastMessageID", err)
	if id.LedgerID != last.LedgerID || id.EntryID != last.EntryID {
		e.t.Fatalf("LastMessageID = %#v, want %#v", id, last)
	}
	id, err = e.a.MessageIDByTime(e.ctx, topic, peeked[0].PublishTime)
	e.check("MessageIDByTime", err)
	if id.LedgerID != s.ids[0].LedgerID || id.EntryID != s.ids[0].EntryID {
		e.t.Fatalf("MessageIDByTime(first publish time) = %#v, want %#v", id, s.ids[0])
	}
	id, err = e.a.TerminateTopic(e.ctx, topic)
	e.check("TerminateTopic", err)
	if id.LedgerID != last.LedgerID || id.EntryID != last.EntryID {
		e.t.Fatalf("TerminateTopic = %#v, want %#v", id, last)
	}
	_, err = e.a.TerminateTopic(e.ctx, topic+"-missing")
	e.wantErr("TerminateTopic missing", err, admin.ErrNotFound)
}

func TestAdminPartitionedMessagesAndStats(t *testing.T) {
	adminVariants(t, func(e *adminEnv) {
		topic, sub := e.topic(), "s é"
		e.deleteTopicLater(topic)
		e.check("CreatePartitionedTopic", e.a.CreatePartitionedTopic(e.ctx, topic, 2))
		e.check("CreateSubscription", e.a.CreateSubscription(e.ctx, topic, sub, stargate.Earliest))
		s := e.produce(topic, 6, false)
		_, err := e.a.PeekMessages(e.ctx, topic, sub, 1)
		e.wantErr("PeekMessages of a partitioned topic", err, admin.ErrNotAllowed)
		for i, id := range s.ids { // by the partitioned name: the ID names the partition
			m, err := e.a.GetMessage(e.ctx, topic, id)
			e.check("GetMessage", err)
			e.sameMessage("GetMessage "+strconv.Itoa(i), m, s.msgs[i], id, topic+"-partition-"+strconv.Itoa(int(id.Partition)))
		}
		part0 := topic + "-partition-0"
		peeked, err := e.a.PeekMessages(e.ctx, part0, sub, 10)
		e.check("PeekMessages of a partition", err)
		for _, m := range peeked {
			if m.ID.Partition != 0 {
				e.t.Fatalf("peeked partition 0, got ID %#v", m.ID)
			}
		}
		e.eventually("PartitionedTopicStats", func() error {
			st, err := e.a.PartitionedTopicStats(e.ctx, topic, &admin.StatsOptions{PerPartition: true, PreciseBacklog: true})
			if err != nil {
				return err
			}
			if st.Metadata.Partitions != 2 || len(st.Partitions) != 2 || st.MsgInCounter != 6 || st.Subscriptions[sub].MsgBacklog != 6 {
				return fmt.Errorf("%d partitions, %d per partition, %d in, backlog %d",
					st.Metadata.Partitions, len(st.Partitions), st.MsgInCounter, st.Subscriptions[sub].MsgBacklog)
			}
			if _, ok := st.Partitions[part0]; !ok {
				return fmt.Errorf("no stats for %s in %v", part0, slices.Collect(maps.Keys(st.Partitions)))
			}
			return nil
		})
		err = e.a.SkipMessages(e.ctx, topic, sub, 1)
		e.wantErr("SkipMessages on a partitioned topic", err, admin.ErrNotAllowed)
		e.check("ClearBacklog partitioned", e.a.ClearBacklog(e.ctx, topic, sub))
		e.eventually("backlog cleared", func() error { return e.backlogIs(topic, sub, 0, true) })
		e.check("ResetCursorToTime partitioned", e.a.ResetCursorToTime(e.ctx, topic, sub, time.Now().Add(-time.Hour)))
		e.eventually("backlog reset", func() error { return e.backlogIs(topic, sub, 6, true) })
	})
}

// backlogIs checks a subscription's precise backlog.
func (e *adminEnv) backlogIs(topic, sub string, want int64, partitioned bool) error {
	var subs map[string]admin.SubscriptionStats
	if partitioned {
		st, err := e.a.PartitionedTopicStats(e.ctx, topic, &admin.StatsOptions{PreciseBacklog: true})
		if err != nil {
			return err
		}
		subs = st.Subscriptions
	} else {
		st, err := e.a.TopicStats(e.ctx, topic, &admin.StatsOptions{PreciseBacklog: true})
		if err != nil {
			return err
		}
		subs = st.Subscriptions
	}
	s, ok := subs[sub]
	if !ok {
		return fmt.Errorf("no subscription %q in %v", sub, slices.Collect(maps.Keys(subs)))
	}
	if s.MsgBacklog != want {
		return fmt.Errorf("backlog of %q is %d, want %d", sub, s.MsgBacklog, want)
	}
	return nil
}

func TestAdminSubscriptions(t *testing.T) {
	adminVariants(t, func(e *adminEnv) {
		topic := e.topic()
		e.deleteTopicLater(topic)
		e.check("CreateTopic", e.a.CreateTopic(e.ctx, topic))
		s := e.produce(topic, 6, false)
		early, late, mid, odd := "early", "late", "mid", "s+ /%é%2B"
		e.check("CreateSubscription earliest", e.a.CreateSubscription(e.ctx, topic, early, stargate.Earliest))
		e.check("CreateSubscription latest", e.a.CreateSubscription(e.ctx, topic, late, stargate.Latest))
		e.check("CreateSubscription at an ID", e.a.CreateSubscriptionAt(e.ctx, topic, mid, s.ids[2]))
		e.check("CreateSubscription odd name", e.a.CreateSubscription(e.ctx, topic, odd, stargate.Earliest))
		e.wantErr("CreateSubscription again", e.a.CreateSubscription(e.ctx, topic, odd, stargate.Earliest), admin.ErrConflict)
		subs, err := e.a.Subscriptions(e.ctx, topic)
		e.check("Subscriptions", err)
		if slices.Sort(subs); !slices.Equal(subs, []string{early, late, mid, odd}) {
			e.t.Fatalf("Subscriptions = %q", subs)
		}
		for sub, want := range map[string]int64{early: 6, late: 0, mid: 4, odd: 6} {
			e.eventually("backlog of "+sub, func() error { return e.backlogIs(topic, sub, want, false) })
		}

		// Messages sent back to back may share a publish millisecond: a
		// reset to a time keeps every message published at or after it.
		var published []time.Time
		for _, id := range s.ids {
			m, err := e.a.GetMessage(e.ctx, topic, id)
			e.check("GetMessage", err)
			published = append(published, m.PublishTime)
		}
		var sinceThird int64
		for _, p := range published {
			if !p.Before(published[3]) {
				sinceThird++
			}
		}
		steps := []struct {
			what    string
			do      func() error
			backlog int64
		}{
			{"SkipMessages 2", func() error { return e.a.SkipMessages(e.ctx, topic, odd, 2) }, 4},
			{"ClearBacklog", func() error { return e.a.ClearBacklog(e.ctx, topic, odd) }, 0},
			{"ResetCursor to an ID", func() error { return e.a.ResetCursor(e.ctx, topic, odd, s.ids[1]) }, 5},
			{"ResetCursor to Latest", func() error { return e.a.ResetCursorToPosition(e.ctx, topic, odd, stargate.Latest) }, 0},
			{"ResetCursor to Earliest", func() error { return e.a.ResetCursorToPosition(e.ctx, topic, odd, stargate.Earliest) }, 6},
			{"ResetCursorToTime", func() error { return e.a.ResetCursorToTime(e.ctx, topic, odd, published[3]) }, sinceThird},
			{"ExpireMessages 1s", func() error {
				time.Sleep(time.Until(published[len(published)-1].Add(1100 * time.Millisecond)))
				return e.a.ExpireMessages(e.ctx, topic, odd, time.Second)
			}, 0},
		}
		for _, st := range steps {
			e.check(st.what, st.do())
			e.eventually("backlog after "+st.what, func() error { return e.backlogIs(topic, odd, st.backlog, false) })
		}
		e.check("ExpireMessages 1h", e.a.ExpireMessages(e.ctx, topic, early, time.Hour))
		e.eventually("backlog after ExpireMessages 1h", func() error { return e.backlogIs(topic, early, 6, false) })

		// The subscription created at ids[2] delivers it first.
		c, err := e.c.NewConsumer(e.ctx, topic, mid, nil)
		e.check("NewConsumer", err)
		defer c.Close()
		for m, err := range c.Messages(e.ctx) {
			e.check("receive", err)
			if !m.ID.Equal(s.ids[2]) {
				e.t.Fatalf("subscription created at %#v delivered %#v first", s.ids[2], m.ID)
			}
			break
		}
		is, err := e.a.InternalStats(e.ctx, topic)
		e.check("InternalStats", err)
		if is.NumberOfEntries != 6 || len(is.Cursors) != 4 {
			e.t.Fatalf("InternalStats: %d entries, cursors %v", is.NumberOfEntries, slices.Collect(maps.Keys(is.Cursors)))
		}
		if _, ok := is.Cursors[odd]; !ok {
			e.t.Fatalf("InternalStats cursors %q lack %q", slices.Collect(maps.Keys(is.Cursors)), odd)
		}
		st, err := e.a.TopicStats(e.ctx, topic, nil)
		e.check("TopicStats", err)
		if st.MsgInCounter != 6 || len(st.Subscriptions[mid].Consumers) != 1 {
			e.t.Fatalf("TopicStats: %d in, consumers of %s %+v", st.MsgInCounter, mid, st.Subscriptions[mid].Consumers)
		}

		if err := e.a.DeleteSubscription(e.ctx, topic, mid, nil); admin.StatusCode(err) < 400 {
			e.t.Fatalf("DeleteSubscription with a consumer, not forced: %v", err)
		}
		e.check("DeleteSubscription forced", e.a.DeleteSubscription(e.ctx, topic, mid, &admin.DeleteOptions{Force: true}))
		e.check("DeleteSubscription odd", e.a.DeleteSubscription(e.ctx, topic, odd, nil))
		e.wantErr("DeleteSubscription again", e.a.DeleteSubscription(e.ctx, topic, odd, nil), admin.ErrNotFound)
		e.wantErr("SkipMessages of a missing subscription", e.a.SkipMessages(e.ctx, topic, odd, 1), admin.ErrNotFound)
		subs, err = e.a.Subscriptions(e.ctx, topic)
		e.check("Subscriptions", err)
		// A forced delete leaves the consumer's WebSocket open, and Pulsar
		// 4.0.8's WebSocket service subscribes again at once: mid may be
		// back by now (it was, in one CI run). odd, which had no consumer,
		// must be gone.
		if i := slices.Index(subs, mid); i >= 0 {
			e.t.Logf("%s is back: the connected consumer subscribed again after the forced delete", mid)
			subs = slices.Delete(subs, i, i+1)
		}
		if slices.Sort(subs); !slices.Equal(subs, []string{early, late}) {
			e.t.Fatalf("Subscriptions after deletes = %q", subs)
		}
	})
}
