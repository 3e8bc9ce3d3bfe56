package conformance

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/admin"
)

func init() {
	register("AdminTopics", testAdminTopics)
	register("AdminSubscriptions", testAdminSubscriptions)
	register("AdminStatsCounters", testAdminStatsCounters)
	register("AdminPartitionedStats", testAdminPartitionedStats)
	register("AdminResetCursor", testAdminResetCursor)
	register("AdminSkipExpireClear", testAdminSkipExpireClear)
	register("AdminTerminateLastID", testAdminTerminateLastID)
	register("AdminBatches", testAdminBatches)
	register("AdminSocketsStayOpen", testAdminSocketsStayOpen)
	register("AdminResetPartitioned", testAdminResetPartitioned)
}

// The admin cases drive both targets with package admin: the fake serves
// the admin REST API on its WebSocket port, the real broker on its admin
// URL. The real broker applies acks and updates stats asynchronously, so
// every count is polled (adminWait).

// adminWait bounds a poll for the real broker's asynchronous stats.
const adminWait = 30 * time.Second

// adminOf returns a package admin client for tg.
func adminOf(t *testing.T, tg Target) *admin.Client {
	t.Helper()
	url := tg.URL()
	if r, ok := tg.(*realTarget); ok {
		url = r.b.AdminURL
	}
	a, err := admin.New(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.CloseIdleConnections)
	return a
}

// adminEnv is a case's stargate client and admin client on one target.
type adminEnv struct {
	*env
	a *admin.Client
}

func newAdminEnv(t *testing.T, tg Target) *adminEnv {
	return &adminEnv{env: newEnv(t, tg), a: adminOf(t, tg)}
}

func (e *adminEnv) check(what string, err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatalf("%s: %v", what, err)
	}
}

func (e *adminEnv) wantErr(what string, err, target error) {
	e.t.Helper()
	if !errors.Is(err, target) {
		e.t.Errorf("%s: %v, want an error matching %v", what, err, target)
	}
}

// topic returns a fresh topic, deleted by force when the case ends.
func (e *adminEnv) topic() string {
	topic := e.tg.Topic(e.t)
	e.t.Cleanup(func() { _ = e.a.DeleteTopic(adminCtx(e.t), topic, &admin.DeleteOptions{Force: true}) })
	return topic
}

// subStats polls the stats of topic until cond holds for sub's stats.
func (e *adminEnv) subStats(topic, sub, what string, cond func(*admin.TopicStats, admin.SubscriptionStats) bool) *admin.TopicStats {
	e.t.Helper()
	var st *admin.TopicStats
	var last string
	deadline := time.Now().Add(adminWait)
	for {
		var err error
		st, err = e.a.TopicStats(e.ctx, topic, nil)
		if err == nil {
			ss := st.Subscriptions[sub]
			if cond(st, ss) {
				return st
			}
			last = fmt.Sprintf("in %d out %d; %s: backlog %d unacked %d consumers %d", st.MsgInCounter, st.MsgOutCounter, sub, ss.MsgBacklog, ss.UnackedMessages, len(ss.Consumers))
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s: %s", what, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// backlogIs polls until sub's backlog on topic is n.
func (e *adminEnv) backlogIs(topic, sub string, n int64) {
	e.t.Helper()
	e.subStats(topic, sub, fmt.Sprintf("backlog %d", n), func(_ *admin.TopicStats, ss admin.SubscriptionStats) bool {
		return ss.MsgBacklog == n
	})
}

// testAdminTopics: create, list, update, unload and delete topics and
// partitioned topics, with the conflicts and absences as sentinel errors.
func testAdminTopics(t *testing.T, tg Target) {
	e := newAdminEnv(t, tg)
	plain, parted := e.topic(), e.topic()+"-p"
	t.Cleanup(func() { _ = e.a.DeleteTopic(adminCtx(t), parted, &admin.DeleteOptions{Force: true}) })
	missing := plain + "-missing"

	e.check("CreateTopic", e.a.CreateTopic(e.ctx, plain))
	e.wantErr("CreateTopic again", e.a.CreateTopic(e.ctx, plain), admin.ErrConflict)
	e.check("CreatePartitionedTopic", e.a.CreatePartitionedTopic(e.ctx, parted, 2))
	e.wantErr("CreatePartitionedTopic again", e.a.CreatePartitionedTopic(e.ctx, parted, 2), admin.ErrConflict)
	e.wantErr("CreatePartitionedTopic over a non-partitioned topic", e.a.CreatePartitionedTopic(e.ctx, plain, 2), admin.ErrConflict)

	if n, err := e.a.Partitions(e.ctx, parted); err != nil || n != 2 {
		t.Fatalf("Partitions = %d, %v; want 2", n, err)
	}
	if n, err := e.a.Partitions(e.ctx, plain); err != nil || n != 0 {
		t.Fatalf("Partitions of a non-partitioned topic = %d, %v; want 0", n, err)
	}
	// Pulsar 4.0.8 answers 404 for the metadata of a missing topic.
	_, err := e.a.Partitions(e.ctx, missing)
	e.wantErr("Partitions of a missing topic", err, admin.ErrNotFound)

	e.check("UpdatePartitions", e.a.UpdatePartitions(e.ctx, parted, 3))
	if n, err := e.a.Partitions(e.ctx, parted); err != nil || n != 3 {
		t.Fatalf("Partitions after UpdatePartitions = %d, %v; want 3", n, err)
	}
	e.check("UpdatePartitions to the same count", e.a.UpdatePartitions(e.ctx, parted, 3))
	if err := e.a.UpdatePartitions(e.ctx, parted, 1); admin.StatusCode(err) != 422 {
		t.Errorf("shrinking the partitions: %v, want 422", err)
	}
	e.wantErr("UpdatePartitions of a non-partitioned topic", e.a.UpdatePartitions(e.ctx, plain, 3), admin.ErrConflict)

	topics, err := e.a.Topics(e.ctx, "public/default")
	e.check("Topics", err)
	for _, want := range []string{plain, parted + "-partition-0", parted + "-partition-2"} {
		if !slices.Contains(topics, want) {
			t.Errorf("Topics lacks %s", want)
		}
	}
	if slices.Contains(topics, parted) {
		t.Errorf("Topics lists the partitioned topic %s itself", parted)
	}
	partitioned, err := e.a.PartitionedTopics(e.ctx, "public/default")
	e.check("PartitionedTopics", err)
	if !slices.Contains(partitioned, parted) || slices.Contains(partitioned, plain) {
		t.Errorf("PartitionedTopics: want %s and not %s", parted, plain)
	}

	e.check("UnloadTopic", e.a.UnloadTopic(e.ctx, plain))
	e.check("UnloadTopic partitioned", e.a.UnloadTopic(e.ctx, parted))
	e.wantErr("UnloadTopic missing", e.a.UnloadTopic(e.ctx, missing), admin.ErrNotFound)
	_, err = e.a.TopicStats(e.ctx, missing, nil)
	e.wantErr("TopicStats missing", err, admin.ErrNotFound)
	_, err = e.a.TopicStats(e.ctx, parted, nil)
	e.wantErr("TopicStats of a partitioned topic", err, admin.ErrNotFound)
	_, err = e.a.PartitionedTopicStats(e.ctx, plain, nil)
	e.wantErr("PartitionedTopicStats of a non-partitioned topic", err, admin.ErrNotFound)

	// A connected producer keeps the topic unless the delete is forced.
	e.producer(plain, nil)
	e.wantErr("DeleteTopic with a producer", e.a.DeleteTopic(e.ctx, plain, nil), admin.ErrPreconditionFailed)
	e.check("DeleteTopic forced", e.a.DeleteTopic(e.ctx, plain, &admin.DeleteOptions{Force: true}))
	e.check("DeleteTopic partitioned", e.a.DeleteTopic(e.ctx, parted, nil))
	e.wantErr("DeleteTopic again", e.a.DeleteTopic(e.ctx, parted, nil), admin.ErrNotFound)
	partitioned, err = e.a.PartitionedTopics(e.ctx, "public/default")
	e.check("PartitionedTopics", err)
	if slices.Contains(partitioned, parted) {
		t.Errorf("PartitionedTopics still lists %s", parted)
	}
}

// testAdminSubscriptions: create at earliest, latest and an ID; list;
// delete, refused while a consumer is connected unless forced. The name
// needs the broker's double decoding.
func testAdminSubscriptions(t *testing.T, tg Target) {
	e := newAdminEnv(t, tg)
	topic := e.topic()
	const odd = "s+1 é/%"
	e.check("CreateTopic", e.a.CreateTopic(e.ctx, topic))
	ids := e.sendAll(e.producer(topic, nil), payloadMsgs("m", 3)...)

	e.check("CreateSubscription earliest", e.a.CreateSubscription(e.ctx, topic, odd, stargate.Earliest))
	e.check("CreateSubscription latest", e.a.CreateSubscription(e.ctx, topic, "latest", stargate.Latest))
	e.check("CreateSubscriptionAt", e.a.CreateSubscriptionAt(e.ctx, topic, "at", ids[1]))
	e.wantErr("CreateSubscription again", e.a.CreateSubscription(e.ctx, topic, odd, stargate.Earliest), admin.ErrConflict)

	subs, err := e.a.Subscriptions(e.ctx, topic)
	e.check("Subscriptions", err)
	slices.Sort(subs)
	if want := []string{"at", "latest", odd}; !slices.Equal(subs, want) {
		t.Fatalf("Subscriptions = %q, want %q", subs, want)
	}
	e.backlogIs(topic, odd, 3)
	e.backlogIs(topic, "latest", 0)
	e.backlogIs(topic, "at", 2)
	c := e.consumer(topic, "at", nil)
	if got := strs(e.receive(c, 1, false)); got[0] != "m1" {
		t.Errorf("a subscription created at m1's ID delivered %q first", got[0])
	}

	e.wantErr("DeleteSubscription with a consumer", e.a.DeleteSubscription(e.ctx, topic, "at", nil), admin.ErrPreconditionFailed)
	e.check("DeleteSubscription forced", e.a.DeleteSubscription(e.ctx, topic, "at", &admin.DeleteOptions{Force: true}))
	e.check("DeleteSubscription", e.a.DeleteSubscription(e.ctx, topic, odd, nil))
	e.wantErr("DeleteSubscription again", e.a.DeleteSubscription(e.ctx, topic, odd, nil), admin.ErrNotFound)
	e.wantErr("ClearBacklog of a missing subscription", e.a.ClearBacklog(e.ctx, topic, odd), admin.ErrNotFound)
	e.wantErr("ResetCursorToPosition of a missing subscription", e.a.ResetCursorToPosition(e.ctx, topic, odd, stargate.Earliest), admin.ErrNotFound)
	// The WebSocket of a consumer whose subscription is deleted by force
	// stays open, and the proxy's consumer behind it subscribes again:
	// "at" is back, at the consumer's initial position (latest).
	eventually(t, adminWait, `"at" subscribed again, empty`, func() bool {
		st, err := e.a.TopicStats(e.ctx, topic, nil)
		ss, ok := st.Subscriptions["at"]
		return err == nil && ok && len(ss.Consumers) == 1 && ss.MsgBacklog == 0
	})
	e.check("Close", c.Close())
	// The server learns of the close asynchronously: 412 until then.
	var derr error
	eventually(t, adminWait, "DeleteSubscription after the consumer closed", func() bool {
		derr = e.a.DeleteSubscription(e.ctx, topic, "at", nil)
		return !errors.Is(derr, admin.ErrPreconditionFailed)
	})
	e.check("DeleteSubscription after the consumer closed", derr)
	subs, err = e.a.Subscriptions(e.ctx, topic)
	if err != nil || !slices.Equal(subs, []string{"latest"}) {
		t.Errorf("Subscriptions after the deletes = %q, %v; want [latest]", subs, err)
	}

	// Creating a subscription creates a missing topic (auto-creation is on).
	fresh := e.topic()
	e.check("CreateSubscription on a missing topic", e.a.CreateSubscription(e.ctx, fresh, "s", stargate.Earliest))
	if subs, err := e.a.Subscriptions(e.ctx, fresh); err != nil || !slices.Equal(subs, []string{"s"}) {
		t.Errorf("Subscriptions of the auto-created topic = %q, %v", subs, err)
	}

	parted := e.topic() + "-p"
	t.Cleanup(func() { _ = e.a.DeleteTopic(adminCtx(t), parted, &admin.DeleteOptions{Force: true}) })
	e.check("CreatePartitionedTopic", e.a.CreatePartitionedTopic(e.ctx, parted, 2))
	e.check("CreateSubscription partitioned", e.a.CreateSubscription(e.ctx, parted, "s", stargate.Earliest))
	e.wantErr("CreateSubscription partitioned again", e.a.CreateSubscription(e.ctx, parted, "s", stargate.Earliest), admin.ErrConflict)
	subs, err = e.a.Subscriptions(e.ctx, parted)
	if err != nil || !slices.Equal(subs, []string{"s"}) {
		t.Errorf("Subscriptions of the partitioned topic = %q, %v", subs, err)
	}
	subs, err = e.a.Subscriptions(e.ctx, parted+"-partition-1")
	if err != nil || !slices.Equal(subs, []string{"s"}) {
		t.Errorf("Subscriptions of partition 1 = %q, %v", subs, err)
	}
}

// testAdminStatsCounters: after producing 5 and acking 3 of them with a
// Shared stargate consumer, the counters and the backlog match on both.
// (The broker counts unacked messages only on Shared and Key_Shared
// subscriptions; Exclusive and Failover report 0.)
func testAdminStatsCounters(t *testing.T, tg Target) {
	e := newAdminEnv(t, tg)
	topic := e.topic()
	c := e.consumer(topic, "sub", &stargate.ConsumerOptions{Type: stargate.Shared})
	p := e.producer(topic, nil)
	e.sendAll(p, payloadMsgs("m", 5)...)
	got := e.receive(c, 5, false)
	for _, m := range got[:3] {
		e.check("Ack", m.Ack(e.ctx))
	}
	st := e.subStats(topic, "sub", "in 5, backlog 2, one consumer", func(st *admin.TopicStats, ss admin.SubscriptionStats) bool {
		return st.MsgInCounter == 5 && ss.MsgBacklog == 2 && len(ss.Consumers) == 1 && ss.UnackedMessages == 2
	})
	ss := st.Subscriptions["sub"]
	switch {
	case st.MsgOutCounter < 5 || ss.MsgOutCounter < 5:
		t.Errorf("msgOutCounter %d (subscription %d), want at least 5", st.MsgOutCounter, ss.MsgOutCounter)
	case st.StorageSize <= 0 || st.BytesInCounter <= 0:
		t.Errorf("storageSize %d, bytesInCounter %d, want > 0", st.StorageSize, st.BytesInCounter)
	case len(st.Publishers) != 1:
		t.Errorf("%d publishers, want 1", len(st.Publishers))
	case ss.Type != "Shared" || !ss.IsDurable:
		t.Errorf("subscription type %q durable %v, want a durable Shared", ss.Type, ss.IsDurable)
	case ss.Consumers[0].UnackedMessages != 2:
		t.Errorf("consumer unacked %d, want 2", ss.Consumers[0].UnackedMessages)
	}
	for _, m := range got[3:] {
		e.check("Ack", m.Ack(e.ctx))
	}
	e.subStats(topic, "sub", "backlog 0, nothing unacked", func(_ *admin.TopicStats, ss admin.SubscriptionStats) bool {
		return ss.MsgBacklog == 0 && ss.UnackedMessages == 0
	})
}

// testAdminPartitionedStats: the stats of a partitioned topic sum its
// partitions.
func testAdminPartitionedStats(t *testing.T, tg Target) {
	e := newAdminEnv(t, tg)
	topic := e.topic()
	e.check("CreatePartitionedTopic", e.a.CreatePartitionedTopic(e.ctx, topic, 2))
	e.check("CreateSubscription", e.a.CreateSubscription(e.ctx, topic, "sub", stargate.Earliest))
	ids := e.sendAll(e.producer(topic, nil), payloadMsgs("m", 4)...)
	perPartition := map[int32]int64{}
	for _, id := range ids {
		perPartition[id.Partition]++
	}
	var last string
	eventually(t, adminWait, "partitioned stats: in 4, backlog 4", func() bool {
		st, err := e.a.PartitionedTopicStats(e.ctx, topic, &admin.StatsOptions{PerPartition: true})
		if err != nil {
			last = err.Error()
			return false
		}
		last = fmt.Sprintf("%+v", st.Metadata)
		ok := st.Metadata.Partitions == 2 && st.MsgInCounter == 4 && st.Subscriptions["sub"].MsgBacklog == 4 && len(st.Partitions) == 2
		for i, n := range perPartition {
			ps := st.Partitions[fmt.Sprintf("%s-partition-%d", topic, i)]
			ok = ok && ps.MsgInCounter == n && ps.Subscriptions["sub"].MsgBacklog == n
		}
		return ok
	})
	_ = last
	e.check("ClearBacklog", e.a.ClearBacklog(e.ctx, topic, "sub"))
	eventually(t, adminWait, "partitioned backlog 0", func() bool {
		st, err := e.a.PartitionedTopicStats(e.ctx, topic, nil)
		return err == nil && st.Subscriptions["sub"].MsgBacklog == 0
	})
}

// testAdminResetCursor: a connected stargate consumer that has acked
// everything gets the messages again from where the cursor was reset to:
// earliest, a message ID, a time.
func testAdminResetCursor(t *testing.T, tg Target) {
	e := newAdminEnv(t, tg)
	topic := e.topic()
	c := e.consumer(topic, "sub", nil)
	p := e.producer(topic, nil)
	ids := e.sendAll(p, payloadMsgs("a", 2)...)
	// A point in time strictly between the two groups, on a clock with
	// millisecond resolution (the broker's, on this machine).
	waitPast(time.Now().Add(5 * time.Millisecond))
	mark := time.Now()
	waitPast(mark.Add(5 * time.Millisecond))
	ids = append(ids, e.sendAll(p, payloadMsgs("b", 3)...)...)
	want := []string{"a0", "a1", "b0", "b1", "b2"}

	if got := strs(e.receive(c, 5, true)); !slices.Equal(got, want) {
		t.Fatalf("first delivery %q, want %q", got, want)
	}
	e.backlogIs(topic, "sub", 0)

	e.check("ResetCursorToPosition earliest", e.a.ResetCursorToPosition(e.ctx, topic, "sub", stargate.Earliest))
	if got := strs(e.receive(c, 5, true)); !slices.Equal(got, want) {
		t.Fatalf("after a reset to earliest: %q, want %q", got, want)
	}
	e.backlogIs(topic, "sub", 0)

	e.check("ResetCursor to an ID", e.a.ResetCursor(e.ctx, topic, "sub", ids[3]))
	e.backlogIs(topic, "sub", 2)
	got := e.receive(c, 2, true)
	if !slices.Equal(strs(got), want[3:]) || !got[0].ID.Equal(ids[3]) {
		t.Fatalf("after a reset to b1's ID: %q, want %q", strs(got), want[3:])
	}
	e.backlogIs(topic, "sub", 0)

	e.check("ResetCursorToTime", e.a.ResetCursorToTime(e.ctx, topic, "sub", mark))
	e.backlogIs(topic, "sub", 3)
	if got := strs(e.receive(c, 3, true)); !slices.Equal(got, want[2:]) {
		t.Fatalf("after a reset to a time: %q, want %q", got, want[2:])
	}
	e.backlogIs(topic, "sub", 0)

	e.check("ResetCursorToPosition latest", e.a.ResetCursorToPosition(e.ctx, topic, "sub", stargate.Latest))
	e.none(c)
	e.backlogIs(topic, "sub", 0)
}

// waitPast returns once the clock has passed t.
func waitPast(t time.Time) {
	for time.Now().Before(t) {
		time.Sleep(time.Until(t))
	}
}

// testAdminSkipExpireClear: skip N, expire older than a duration, clear
// the backlog; skip refuses a partitioned topic.
func testAdminSkipExpireClear(t *testing.T, tg Target) {
	e := newAdminEnv(t, tg)
	topic := e.topic()
	e.check("CreateTopic", e.a.CreateTopic(e.ctx, topic))
	e.check("CreateSubscription", e.a.CreateSubscription(e.ctx, topic, "sub", stargate.Earliest))
	p := e.producer(topic, nil)
	e.sendAll(p, payloadMsgs("m", 5)...)
	sent := time.Now()
	e.backlogIs(topic, "sub", 5)

	e.check("SkipMessages", e.a.SkipMessages(e.ctx, topic, "sub", 2))
	e.backlogIs(topic, "sub", 3)
	e.wantErr("SkipMessages of a missing subscription", e.a.SkipMessages(e.ctx, topic, "nosub", 1), admin.ErrNotFound)
	c := e.consumer(topic, "sub", nil)
	if got := strs(e.receive(c, 1, false)); got[0] != "m2" {
		t.Fatalf("after skipping 2, the first message is %q, want m2", got[0])
	}
	e.check("Close", c.Close())

	// Every message is over a second old: expiring at 1s takes them all.
	waitPast(sent.Add(1500 * time.Millisecond))
	e.check("ExpireMessages", e.a.ExpireMessages(e.ctx, topic, "sub", time.Second))
	e.backlogIs(topic, "sub", 0)
	// Pulsar 4.0.8 refuses to expire an empty backlog with 409.
	e.wantErr("ExpireMessages with no backlog", e.a.ExpireMessages(e.ctx, topic, "sub", time.Second), admin.ErrConflict)

	e.sendAll(p, payloadMsgs("n", 3)...)
	e.backlogIs(topic, "sub", 3)
	e.check("ClearBacklog", e.a.ClearBacklog(e.ctx, topic, "sub"))
	e.backlogIs(topic, "sub", 0)

	parted := e.topic() + "-p"
	t.Cleanup(func() { _ = e.a.DeleteTopic(adminCtx(t), parted, &admin.DeleteOptions{Force: true}) })
	e.check("CreatePartitionedTopic", e.a.CreatePartitionedTopic(e.ctx, parted, 2))
	e.check("CreateSubscription partitioned", e.a.CreateSubscription(e.ctx, parted, "sub", stargate.Earliest))
	e.wantErr("SkipMessages partitioned", e.a.SkipMessages(e.ctx, parted, "sub", 1), admin.ErrNotAllowed)
	e.check("ClearBacklog partitioned", e.a.ClearBacklog(e.ctx, parted, "sub"))
}

// testAdminTerminateLastID: the last message ID before and after
// producing; terminate returns it; a partitioned topic is terminated per
// partition.
func testAdminTerminateLastID(t *testing.T, tg Target) {
	e := newAdminEnv(t, tg)
	topic := e.topic()
	e.check("CreateTopic", e.a.CreateTopic(e.ctx, topic))
	empty, err := e.a.LastMessageID(e.ctx, topic)
	e.check("LastMessageID", err)
	if empty.EntryID != -1 || empty.Partition != -1 {
		t.Errorf("LastMessageID of an empty topic = %#v, want entry -1", empty)
	}
	ids := e.sendAll(e.producer(topic, nil), payloadMsgs("m", 3)...)
	last, err := e.a.LastMessageID(e.ctx, topic)
	e.check("LastMessageID", err)
	if !last.Equal(ids[2]) {
		t.Errorf("LastMessageID = %#v, want the last sent %#v", last, ids[2])
	}
	term, err := e.a.TerminateTopic(e.ctx, topic)
	e.check("TerminateTopic", err)
	if !term.Equal(ids[2]) {
		t.Errorf("TerminateTopic = %#v, want %#v", term, ids[2])
	}
	_, err = e.a.LastMessageID(e.ctx, topic+"-missing")
	e.wantErr("LastMessageID missing", err, admin.ErrNotFound)
	_, err = e.a.TerminateTopic(e.ctx, topic+"-missing")
	e.wantErr("TerminateTopic missing", err, admin.ErrNotFound)

	parted := e.topic() + "-p"
	t.Cleanup(func() { _ = e.a.DeleteTopic(adminCtx(t), parted, &admin.DeleteOptions{Force: true}) })
	e.check("CreatePartitionedTopic", e.a.CreatePartitionedTopic(e.ctx, parted, 2))
	_, err = e.a.TerminateTopic(e.ctx, parted)
	e.wantErr("TerminateTopic partitioned", err, admin.ErrNotAllowed)
	_, err = e.a.LastMessageID(e.ctx, parted)
	e.wantErr("LastMessageID partitioned", err, admin.ErrNotFound)
	pids := e.sendAll(e.producer(parted, nil), payloadMsgs("p", 4)...)
	lastOf := map[int32]stargate.MessageID{}
	for _, id := range pids {
		lastOf[id.Partition] = id
	}
	for i, want := range lastOf {
		got, err := e.a.LastMessageID(e.ctx, fmt.Sprintf("%s-partition-%d", parted, i))
		e.check("LastMessageID of a partition", err)
		if !got.Equal(want) {
			t.Errorf("LastMessageID of partition %d = %#v, want %#v", i, got, want)
		}
	}
	terms, err := e.a.TerminatePartitionedTopic(e.ctx, parted)
	e.check("TerminatePartitionedTopic", err)
	for i, want := range lastOf {
		if got := terms[int(i)]; !got.Equal(want) {
			t.Errorf("TerminatePartitionedTopic[%d] = %#v, want %#v", i, got, want)
		}
	}
}

// testAdminBatches: cursors move by entries, so a batch is skipped whole
// and a reset to a message inside a batch delivers the whole batch again;
// the last message ID of a batch names its last message.
func testAdminBatches(t *testing.T, tg Target) {
	e := newAdminEnv(t, tg)
	topic := e.topic()
	e.check("CreateTopic", e.a.CreateTopic(e.ctx, topic))
	e.check("CreateSubscription", e.a.CreateSubscription(e.ctx, topic, "sub", stargate.Earliest))
	bp := dial(t, tg, producerPath(topic)+"?batchingEnabled=true&batchingMaxPublishDelay=2000&batchingMaxMessages=3")
	for i := range 3 {
		bp.send(map[string]any{"payload": b64("b" + itoa(i)), "context": itoa(i)})
	}
	batch := map[string]stargate.MessageID{}
	for range 3 {
		a := bp.next()
		if a["result"] != "ok" {
			t.Fatalf("ack %v", a)
		}
		batch[a["context"].(string)] = idOf(t, a)
	}
	if batch["2"].BatchIndex != 2 || batch["0"].EntryID != batch["2"].EntryID {
		t.Fatalf("not one batch: %v", batch)
	}
	last, err := e.a.LastMessageID(e.ctx, topic)
	e.check("LastMessageID", err)
	if last.LedgerID != batch["2"].LedgerID || last.EntryID != batch["2"].EntryID || last.BatchIndex != 2 {
		t.Errorf("LastMessageID after a batch of 3 = %#v, want the batch's last message %#v", last, batch["2"])
	}
	e.sendAll(e.producer(topic, nil), stargate.Message{Payload: []byte("n0")})

	e.check("SkipMessages 1", e.a.SkipMessages(e.ctx, topic, "sub", 1))
	c := e.consumer(topic, "sub", nil)
	if got := strs(e.receive(c, 1, true)); got[0] != "n0" {
		t.Fatalf("after skipping 1 entry, the first message is %q, want n0 (the batch skipped whole)", got[0])
	}
	e.backlogIs(topic, "sub", 0)
	e.check("ResetCursor inside the batch", e.a.ResetCursor(e.ctx, topic, "sub", batch["1"]))
	if got := strs(e.receive(c, 4, true)); !slices.Equal(got, []string{"b0", "b1", "b2", "n0"}) {
		t.Fatalf("after a reset to b1: %q, want the whole batch and n0", got)
	}
}

// testAdminSocketsStayOpen: a reset cursor and an unload leave the
// WebSockets open (the broker's proxy re-attaches its own clients), and
// they keep working: after the reset the consumer gets the first message
// again, after the unload the producer's next message arrives. (The reset
// comes first: without retention, an unload closes the ledger and the
// broker deletes its acknowledged messages, which the fake keeps.)
func testAdminSocketsStayOpen(t *testing.T, tg Target) {
	e := newAdminEnv(t, tg)
	topic := e.topic()
	c := dial(t, tg, consumerPath(topic, "sub"))
	p := dial(t, tg, producerPath(topic))
	if a := p.produce("m0", "0"); a["result"] != "ok" {
		t.Fatalf("ack %v", a)
	}
	c.ack(c.receive(1)[0])
	e.backlogIs(topic, "sub", 0)

	e.check("ResetCursorToPosition", e.a.ResetCursorToPosition(e.ctx, topic, "sub", stargate.Earliest))
	if err, closed := c.closed(quiet); closed {
		t.Fatalf("the consumer's socket closed on reset: %v", err)
	}
	if m := c.receive(1)[0]; m["payload"] != b64("m0") {
		t.Fatalf("after the reset got %v, want m0", m)
	} else {
		c.ack(m)
	}
	e.backlogIs(topic, "sub", 0)

	e.check("UnloadTopic", e.a.UnloadTopic(e.ctx, topic))
	if err, closed := c.closed(quiet); closed {
		t.Fatalf("the consumer's socket closed on unload: %v", err)
	}
	if err, closed := p.closed(0); closed {
		t.Fatalf("the producer's socket closed on unload: %v", err)
	}
	if a := p.produce("m1", "1"); a["result"] != "ok" {
		t.Fatalf("ack after unload %v", a)
	}
	if m := c.receive(1)[0]; m["payload"] != b64("m1") {
		t.Fatalf("after unload got %v, want m1", m)
	}
}

// testAdminResetPartitioned: Pulsar 4.0.8 refuses a reset to a position
// (even earliest or latest) on a partitioned topic with 405; a reset to a
// time moves every partition, a reset of one partition by its name moves
// that one.
func testAdminResetPartitioned(t *testing.T, tg Target) {
	e := newAdminEnv(t, tg)
	topic := e.topic()
	e.check("CreatePartitionedTopic", e.a.CreatePartitionedTopic(e.ctx, topic, 2))
	e.check("CreateSubscription", e.a.CreateSubscription(e.ctx, topic, "sub", stargate.Earliest))
	mark := time.Now()
	waitPast(mark.Add(5 * time.Millisecond))
	// Two messages on each partition, through the partitions' own names.
	e.sendAll(e.producer(topic+"-partition-0", nil), payloadMsgs("m", 2)...)
	e.sendAll(e.producer(topic+"-partition-1", nil), stargate.Message{Payload: []byte("m2")}, stargate.Message{Payload: []byte("m3")})
	backlog := func(want int64) {
		t.Helper()
		var got int64
		eventually(t, adminWait, fmt.Sprintf("partitioned backlog %d", want), func() bool {
			st, err := e.a.PartitionedTopicStats(e.ctx, topic, nil)
			got = st.Subscriptions["sub"].MsgBacklog
			return err == nil && got == want
		})
	}
	c := e.consumer(topic, "sub", &stargate.ConsumerOptions{Type: stargate.Shared})
	idOf := map[string]stargate.MessageID{}
	for _, m := range e.receive(c, 4, true) {
		idOf[string(m.Payload)] = m.ID
	}
	if idOf["m2"].Partition != 1 || idOf["m0"].Partition != 0 {
		t.Fatalf("IDs through the base name: %v", idOf)
	}
	backlog(0)

	e.wantErr("ResetCursor on the partitioned topic", e.a.ResetCursor(e.ctx, topic, "sub", idOf["m2"]), admin.ErrNotAllowed)
	e.wantErr("ResetCursorToPosition on the partitioned topic", e.a.ResetCursorToPosition(e.ctx, topic, "sub", stargate.Earliest), admin.ErrNotAllowed)
	e.check("ResetCursor on partition 1", e.a.ResetCursor(e.ctx, topic+"-partition-1", "sub", idOf["m2"]))
	backlog(2)
	if got := strs(e.receive(c, 2, true)); !slices.Equal(got, []string{"m2", "m3"}) {
		t.Errorf("after a reset of partition 1 to m2: %q, want m2 and m3", got)
	}
	backlog(0)

	e.check("ResetCursorToTime on the partitioned topic", e.a.ResetCursorToTime(e.ctx, topic, "sub", mark))
	backlog(4)
	g := strs(e.receive(c, 4, true))
	slices.Sort(g)
	if !slices.Equal(g, []string{"m0", "m1", "m2", "m3"}) {
		t.Errorf("after a reset to a time before them all: %q", g)
	}
	backlog(0)
}
