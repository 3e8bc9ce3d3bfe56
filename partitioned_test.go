package stargate_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/stargatetest"
)

// routingKeys are ASCII, non-ASCII and keys outside the BMP, whose UTF-16
// surrogates JavaStringHash hashes one by one.
func routingKeys() []string {
	keys := []string{"a", "customer-42", "Aa", "BB", "é", "日本語", "😀", "k😀y", "𝄞 music", "polygenelubricants"}
	for i := range 40 {
		keys = append(keys, fmt.Sprintf("key-%d", i), fmt.Sprintf("ключ-%d-🚀", i))
	}
	return keys
}

func TestPerPartitionProducerRoutesAsTheBroker(t *testing.T) {
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, _ := stargate.NewClient(srv.URL(), nil)
	for _, scheme := range []stargate.HashingScheme{stargate.JavaStringHash, stargate.Murmur3Hash} {
		t.Run(scheme.String(), func(t *testing.T) {
			topic := "routing-" + scheme.String()
			if err := srv.CreatePartitionedTopic(topic, 7); err != nil {
				t.Fatal(err)
			}
			base, err := client.NewProducer(ctx, topic, &stargate.ProducerOptions{HashingScheme: scheme})
			if err != nil {
				t.Fatal(err)
			}
			defer base.Close()
			pp, err := client.NewProducer(ctx, topic, &stargate.ProducerOptions{HashingScheme: scheme, PerPartition: true})
			if err != nil {
				t.Fatal(err)
			}
			defer pp.Close()
			used := map[int32]bool{}
			for _, k := range routingKeys() {
				want, err := base.Send(ctx, stargate.Message{Key: k, Payload: []byte(k)}).Wait(ctx)
				if err != nil {
					t.Fatal(err)
				}
				got, err := pp.Send(ctx, stargate.Message{Key: k, Payload: []byte(k)}).Wait(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if got.Partition != want.Partition {
					t.Errorf("key %q: partition %d per partition, %d through the topic", k, got.Partition, want.Partition)
				}
				used[got.Partition] = true
			}
			if len(used) < 5 {
				t.Errorf("keys used only partitions %v of 7", used)
			}
			if s := pp.Stats(); s.Sent != int64(len(routingKeys())) || s.Acked != s.Sent || s.Pending != 0 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

func TestPerPartitionConsumerMergesPartitions(t *testing.T) {
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, _ := stargate.NewClient(srv.URL(), &fastReconnect)
	const n, total = 4, 200
	for _, pull := range []bool{false, true} {
		t.Run(fmt.Sprint("pull=", pull), func(t *testing.T) {
			topic, sub := fmt.Sprint("merge-", pull), "s"
			if err := srv.CreatePartitionedTopic(topic, n); err != nil {
				t.Fatal(err)
			}
			c, err := client.NewConsumer(ctx, topic, sub, &stargate.ConsumerOptions{
				PerPartition: true, InitialPosition: stargate.Earliest, PullMode: pull})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			p, err := client.NewProducer(ctx, topic, &stargate.ProducerOptions{PerPartition: true, RoutingMode: stargate.RoutingRoundRobin})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			for i := range total {
				p.Send(ctx, stargate.Message{Key: fmt.Sprint("k", i%10), Payload: fmt.Appendf(nil, "%d", i)})
			}
			if err := p.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			last := map[string]int{} // per key: payloads of one key come in order
			got := 0
			for m, err := range c.Messages(ctx) {
				if err != nil {
					t.Fatal(err)
				}
				var i int
				fmt.Sscan(string(m.Payload), &i)
				if prev, ok := last[m.Key]; ok && i <= prev {
					t.Fatalf("key %s: %d after %d", m.Key, i, prev)
				}
				last[m.Key] = i
				if m.ID.Partition < 0 || !strings.HasSuffix(m.Topic.Name, fmt.Sprint("-partition-", m.ID.Partition)) {
					t.Fatalf("message %d: topic %s, ID %#v", i, m.Topic, m.ID)
				}
				if err := m.Ack(ctx); err != nil {
					t.Fatal(err)
				}
				if got++; got == total {
					break
				}
			}
			if s := c.Stats(); s.Received != total || s.Acked != total {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

func TestPerPartitionReconnectsEachPartition(t *testing.T) {
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, _ := stargate.NewClient(srv.URL(), &fastReconnect)
	const topic = "reconnect-parts"
	if err := srv.CreatePartitionedTopic(topic, 3); err != nil {
		t.Fatal(err)
	}
	c, err := client.NewConsumer(ctx, topic, "s", &stargate.ConsumerOptions{PerPartition: true, InitialPosition: stargate.Earliest})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := client.NewProducer(ctx, topic, &stargate.ProducerOptions{PerPartition: true, RoutingMode: stargate.RoutingRoundRobin})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// Only partition 1's sockets (producer and consumer) are cut.
	if n := srv.DropConnections(topic + "-partition-1"); n != 2 {
		t.Fatalf("dropped %d sockets, want 2", n)
	}
	for i := range 30 {
		if _, err := p.Send(ctx, stargate.Message{Payload: fmt.Appendf(nil, "%d", i)}).Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for m, err := range c.Messages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		seen[string(m.Payload)] = true
		_ = m.Ack(ctx)
		if len(seen) == 30 {
			break
		}
	}
	ps, cs := p.Stats(), c.Stats()
	if ps.Reconnects != 1 || cs.Reconnects != 1 {
		t.Errorf("reconnects: producer %d, consumer %d; want 1 each (one partition)", ps.Reconnects, cs.Reconnects)
	}
}

func TestPerPartitionFollowsGrowth(t *testing.T) {
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, _ := stargate.NewClient(srv.URL(), nil)
	const topic = "grow"
	if err := srv.CreatePartitionedTopic(topic, 2); err != nil {
		t.Fatal(err)
	}
	c, err := client.NewConsumer(ctx, topic, "s", &stargate.ConsumerOptions{PerPartition: true, PartitionRefresh: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := client.NewProducer(ctx, topic, &stargate.ProducerOptions{PerPartition: true, PartitionRefresh: 20 * time.Millisecond, RoutingMode: stargate.RoutingRoundRobin})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, strings.Replace(srv.URL(), "ws://", "http://", 1)+"/admin/v2/persistent/public/default/"+topic+"/partitions", strings.NewReader("4"))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("update partitions: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	// Send until the producer has picked the new partitions up; the
	// consumer must then get messages of partition 3 too.
	for {
		id, err := p.Send(ctx, stargate.Message{Payload: []byte("x")}).Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if id.Partition == 3 {
			break
		}
	}
	for m, err := range c.Messages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		_ = m.Ack(ctx)
		if m.ID.Partition == 3 {
			break
		}
	}
}

func TestConsumerConnectionsShared(t *testing.T) {
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, _ := stargate.NewClient(srv.URL(), nil)
	const topic, total = "conns", 90
	c, err := client.NewConsumer(ctx, topic, "s", &stargate.ConsumerOptions{Type: stargate.Shared, Connections: 3, ReceiverQueueSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range total {
		srv.Publish(topic, stargatetest.Message{Payload: fmt.Appendf(nil, "%d", i)})
	}
	seen := map[string]bool{}
	for m, err := range c.Messages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if m.ID.Partition != -1 || m.Topic.Name != topic {
			t.Fatalf("message of %s, %#v", m.Topic, m.ID)
		}
		seen[string(m.Payload)] = true
		_ = m.Ack(ctx)
		if len(seen) == total {
			break
		}
	}
	st, err := srv.Stats(topic)
	if err != nil {
		t.Fatal(err)
	}
	if n := st.Subscriptions["s"].Consumers; n != 3 {
		t.Errorf("subscription has %d consumers, want 3", n)
	}
}

func TestPerPartitionOnNonPartitionedTopic(t *testing.T) {
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, _ := stargate.NewClient(srv.URL(), nil)
	p, err := client.NewProducer(ctx, "plain", &stargate.ProducerOptions{PerPartition: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	id, err := p.Send(ctx, stargate.Message{Payload: []byte("x")}).Wait(ctx)
	if err != nil || id.Partition != -1 {
		t.Fatalf("send: %#v %v", id, err)
	}
}

func TestParallelOptionsRefused(t *testing.T) {
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, _ := stargate.NewClient(srv.URL(), nil)
	for _, c := range []struct {
		name, field string
		opts        stargate.ConsumerOptions
	}{
		{"exclusive", "ConsumerOptions.Connections", stargate.ConsumerOptions{Connections: 2}},
		{"failover", "ConsumerOptions.Connections", stargate.ConsumerOptions{Type: stargate.Failover, Connections: 2}},
		{"too many", "ConsumerOptions.Connections", stargate.ConsumerOptions{Type: stargate.Shared, Connections: 65}},
		{"negative", "ConsumerOptions.Connections", stargate.ConsumerOptions{Type: stargate.Shared, Connections: -1}},
		{"refresh alone", "ConsumerOptions.PartitionRefresh", stargate.ConsumerOptions{PartitionRefresh: time.Second}},
	} {
		_, err := client.NewConsumer(ctx, "t", "s", &c.opts)
		var ae *stargate.ArgError
		if !errors.As(err, &ae) || ae.Arg != c.field {
			t.Errorf("%s: %v, want an *ArgError for %s", c.name, err, c.field)
		}
	}
	_, err := client.NewMultiTopicConsumer(ctx, []string{"a", "b"}, "s", &stargate.ConsumerOptions{PerPartition: true})
	if !errors.Is(err, stargate.ErrInvalidArgument) {
		t.Errorf("v3 with PerPartition: %v", err)
	}
	_, err = client.NewProducer(ctx, "t", &stargate.ProducerOptions{PartitionRefresh: time.Second})
	if !errors.Is(err, stargate.ErrInvalidArgument) {
		t.Errorf("producer PartitionRefresh without PerPartition: %v", err)
	}
}

// Seek, SeekTime, IsEndOfTopic and Unsubscribe go to every connection that
// needs them.
func TestPerPartitionConsumerSeekEndUnsubscribe(t *testing.T) {
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, _ := stargate.NewClient(srv.URL(), nil)
	const topic = "seek-parts"
	if err := srv.CreatePartitionedTopic(topic, 3); err != nil {
		t.Fatal(err)
	}
	c, err := client.NewConsumer(ctx, topic, "s", &stargate.ConsumerOptions{
		PerPartition: true, Type: stargate.Shared, Connections: 2, InitialPosition: stargate.Earliest})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := client.NewProducer(ctx, topic, &stargate.ProducerOptions{PerPartition: true, RoutingMode: stargate.RoutingRoundRobin})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i := range 9 {
		p.Send(ctx, stargate.Message{Payload: fmt.Appendf(nil, "%d", i)})
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	take := func(n int) map[string]stargate.Message {
		t.Helper()
		got := map[string]stargate.Message{}
		tctx, tcancel := context.WithTimeout(ctx, 10*time.Second)
		defer tcancel()
		for m, err := range c.Messages(tctx) {
			if err != nil {
				t.Fatalf("%v after %d messages: %v", err, len(got), slices.Collect(maps.Keys(got)))
			}
			_ = m.Ack(ctx)
			got[string(m.Payload)] = m
			if len(got) == n {
				break
			}
		}
		return got
	}
	// Acks travel asynchronously: one that reached the broker after a
	// reset would acknowledge a redelivery. Seek once all have arrived.
	settled := func() {
		t.Helper()
		for {
			st, err := srv.Stats(topic)
			if err != nil {
				t.Fatal(err)
			}
			if st.Subscriptions["s"].MsgBacklog == 0 {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("backlog %d left", st.Subscriptions["s"].MsgBacklog)
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	first := take(9)
	settled()
	// Back to the start of every partition: all nine again.
	if err := c.SeekTime(ctx, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	take(9)
	settled()
	// Back to one message of one partition: that partition's three again.
	id := first["1"].ID
	if err := c.Seek(ctx, id); err != nil {
		t.Fatal(err)
	}
	for _, m := range take(3) {
		if m.ID.Partition != id.Partition {
			t.Errorf("after Seek to partition %d: message of partition %d", id.Partition, m.ID.Partition)
		}
	}
	if err := c.Seek(ctx, stargate.MessageID{LedgerID: 1, Partition: -1}); !errors.Is(err, stargate.ErrInvalidArgument) {
		t.Errorf("Seek to an ID without a partition: %v", err)
	}
	if end, err := c.IsEndOfTopic(ctx); err != nil || end {
		t.Fatalf("IsEndOfTopic before termination: %v %v", end, err)
	}
	if err := srv.TerminateTopic(topic); err != nil {
		t.Fatal(err)
	}
	if end, err := c.IsEndOfTopic(ctx); err != nil || !end {
		t.Fatalf("IsEndOfTopic after termination: %v %v", end, err)
	}
	if err := c.Unsubscribe(ctx); err != nil {
		t.Fatal(err)
	}
	for m, err := range c.Messages(ctx) {
		if !errors.Is(err, stargate.ErrClosed) {
			t.Errorf("after Unsubscribe: %v %v", m.ID, err)
		}
		break
	}
	st, _ := srv.Stats(topic)
	if _, ok := st.Subscriptions["s"]; ok {
		t.Errorf("subscription still there after Unsubscribe: %+v", st.Subscriptions)
	}
}
