package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/dockertest"
)

// routingKeys are ASCII, non-ASCII and keys outside the BMP, whose UTF-16
// surrogates JavaStringHash hashes one by one.
func routingKeys() []string {
	keys := []string{"a", "customer-42", "Aa", "BB", "é", "ü-straße", "日本語", "😀", "k😀y", "𝄞 music", "🏳️‍🌈", "polygenelubricants"}
	for i := range 60 {
		keys = append(keys, fmt.Sprintf("key-%d", i), fmt.Sprintf("ключ-%d-🚀", i), fmt.Sprintf("%c%d", rune(0x1F600+i), i))
	}
	return keys
}

// TestPerPartitionRoutingMatchesBroker sends every key once through the
// topic's name (the broker's partitioned producer routes) and once
// partition-parallel, for both hashing schemes, and compares the partition
// of the two message IDs key by key.
func TestPerPartitionRoutingMatchesBroker(t *testing.T) {
	e := plain(t)
	for _, scheme := range []stargate.HashingScheme{stargate.JavaStringHash, stargate.Murmur3Hash} {
		for _, mode := range []stargate.RoutingMode{stargate.RoutingSinglePartition, stargate.RoutingRoundRobin} {
			t.Run(scheme.String()+"/"+mode.String(), func(t *testing.T) {
				topic := dockertest.UniqueTopic(t)
				if err := e.admin.CreatePartitionedTopic(e.ctx, topic, 7); err != nil {
					t.Fatal(err)
				}
				o := &stargate.ProducerOptions{HashingScheme: scheme, RoutingMode: mode}
				base := e.producer(topic, o)
				po := *o
				po.PerPartition = true
				pp := e.producer(topic, &po)
				keys := routingKeys()
				var msgs []stargate.Message
				for _, k := range keys {
					msgs = append(msgs, stargate.Message{Key: k, Payload: []byte(k)})
				}
				want := e.sendAll(base, msgs...)
				got := e.sendAll(pp, msgs...)
				used := map[int32]bool{}
				for i, k := range keys {
					if got[i].Partition != want[i].Partition {
						t.Errorf("key %q: partition %d partition-parallel, %d through the broker", k, got[i].Partition, want[i].Partition)
					}
					used[want[i].Partition] = true
				}
				if len(used) < 6 {
					t.Errorf("the keys reached only partitions %v of 7", used)
				}
				// Key-less: one partition for SinglePartition, each in turn for RoundRobin.
				ids := e.sendAll(pp, msgs2(14)...)
				for i := 1; i < len(ids); i++ {
					step := (ids[i].Partition - ids[i-1].Partition + 7) % 7
					if mode == stargate.RoutingSinglePartition && step != 0 || mode == stargate.RoutingRoundRobin && step != 1 {
						t.Fatalf("%s key-less partitions: %d then %d", mode, ids[i-1].Partition, ids[i].Partition)
					}
				}
			})
		}
	}
}

func msgs2(n int) []stargate.Message {
	out := make([]stargate.Message, n)
	for i := range out {
		out[i].Payload = fmt.Appendf(nil, "keyless-%d", i)
	}
	return out
}

// TestPerPartitionConsumerOnBroker: a partition-parallel consumer gets the
// messages of every partition, each with its partition's topic and index,
// and its acknowledgements leave no backlog.
func TestPerPartitionConsumerOnBroker(t *testing.T) {
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	if err := e.admin.CreatePartitionedTopic(e.ctx, topic, 4); err != nil {
		t.Fatal(err)
	}
	c := e.consumer(topic, "sub", &stargate.ConsumerOptions{PerPartition: true, PullMode: true})
	p := e.producer(topic, &stargate.ProducerOptions{PerPartition: true, RoutingMode: stargate.RoutingRoundRobin})
	ids := e.sendAll(p, msgs2(80)...)
	want := map[string]stargate.MessageID{}
	for i, id := range ids {
		want[fmt.Sprintf("keyless-%d", i)] = id
	}
	for _, m := range e.receive(c, 80, true, 60*time.Second) {
		id := want[string(m.Payload)]
		if !m.ID.Equal(id) || !strings.HasSuffix(m.Topic.Name, fmt.Sprint("-partition-", id.Partition)) {
			t.Errorf("%s: received %#v on %s, sent as %#v", m.Payload, m.ID, m.Topic, id)
		}
	}
	st, err := e.admin.PartitionedStats(e.ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for st.Subscriptions["sub"].MsgBacklog != 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond) // the broker's backlog figure lags acks
		if st, err = e.admin.PartitionedStats(e.ctx, topic); err != nil {
			t.Fatal(err)
		}
	}
	if b := st.Subscriptions["sub"].MsgBacklog; b != 0 {
		t.Errorf("backlog %d after acking everything", b)
	}
}

// TestPerPartitionReconnectsOnePartition cuts only partition 1's
// connections (producer and consumer): they reconnect, the others are not
// disturbed, and nothing is lost.
func TestPerPartitionReconnectsOnePartition(t *testing.T) {
	e := plain(t)
	px := newProxy(t, e.broker.WSURL)
	client, err := stargate.NewClient(px.url(), &stargate.ClientOptions{ReconnectDelay: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// The admin REST calls go through the relay too (same host).
	topic := dockertest.UniqueTopic(t)
	if err := e.admin.CreatePartitionedTopic(e.ctx, topic, 3); err != nil {
		t.Fatal(err)
	}
	c, err := client.NewConsumer(e.ctx, topic, "sub", &stargate.ConsumerOptions{PerPartition: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := client.NewProducer(e.ctx, topic, &stargate.ProducerOptions{PerPartition: true, RoutingMode: stargate.RoutingRoundRobin})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	name := topic[strings.LastIndex(topic, "/")+1:]
	if n := px.cutPath(name + "-partition-1"); n != 2 {
		t.Fatalf("cut %d connections of partition 1, want 2", n)
	}
	ids := e.sendAll(p, msgs2(60)...)
	seen := map[string]bool{}
	for _, m := range e.receive(c, 60, true, 60*time.Second) {
		seen[string(m.Payload)] = true
	}
	for i := range ids {
		if !seen[fmt.Sprintf("keyless-%d", i)] {
			t.Errorf("message %d (partition %d) not received", i, ids[i].Partition)
		}
	}
	if ps, cs := p.Stats(), c.Stats(); ps.Reconnects != 1 || cs.Reconnects != 1 {
		t.Errorf("reconnects: producer %d, consumer %d; want 1 each (partition 1's)", ps.Reconnects, cs.Reconnects)
	}
}

// TestPerPartitionFollowsGrowthOnBroker grows the topic with the admin API:
// the producer and the consumer start using the new partitions.
func TestPerPartitionFollowsGrowthOnBroker(t *testing.T) {
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	if err := e.admin.CreatePartitionedTopic(e.ctx, topic, 2); err != nil {
		t.Fatal(err)
	}
	every := 200 * time.Millisecond
	c := e.consumer(topic, "sub", &stargate.ConsumerOptions{PerPartition: true, PartitionRefresh: every})
	p := e.producer(topic, &stargate.ProducerOptions{PerPartition: true, PartitionRefresh: every, RoutingMode: stargate.RoutingRoundRobin})
	e.sendAll(p, msgs2(4)...)
	if err := e.admin.Client().UpdatePartitions(e.ctx, topic, 4); err != nil {
		t.Fatal(err)
	}
	// Until the producer has seen the growth (a refresh away), its turns
	// cover partitions 0 and 1; then 3 comes.
	var sent int
	for {
		id, err := p.Send(e.ctx, stargate.Message{Payload: fmt.Appendf(nil, "after-%d", sent)}).Wait(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		sent++
		if id.Partition == 3 {
			break
		}
	}
	got := map[int32]int{}
	for _, m := range e.receive(c, 4+sent, true, 60*time.Second) {
		got[m.ID.Partition]++
	}
	if got[3] == 0 {
		t.Errorf("messages by partition %v after growing to 4", got)
	}
}

// TestConsumerConnectionsOnBroker opens 3 connections to one Shared
// subscription of a non-partitioned topic.
func TestConsumerConnectionsOnBroker(t *testing.T) {
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	c := e.consumer(topic, "sub", &stargate.ConsumerOptions{Type: stargate.Shared, Connections: 3})
	p := e.producer(topic, nil)
	e.sendAll(p, msgs2(60)...)
	seen := map[string]bool{}
	for _, m := range e.receive(c, 60, true, 60*time.Second) {
		seen[string(m.Payload)] = true
	}
	if len(seen) != 60 {
		t.Errorf("%d distinct messages of 60", len(seen))
	}
	st, err := e.admin.TopicStats(e.ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(st.Subscriptions["sub"].Consumers); n != 3 {
		t.Errorf("the subscription has %d consumers, want 3", n)
	}
}
