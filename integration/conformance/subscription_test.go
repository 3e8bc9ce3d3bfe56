package conformance

import (
	"context"
	"encoding/binary"
	"errors"
	"math/bits"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lxzan/gws"
	"github.com/stargate-go/stargate"
)

func init() {
	register("ExclusiveBusy", testExclusiveBusy)
	register("SharedSpreads", testSharedSpreads)
	register("FailoverOneActive", testFailoverOneActive)
	register("KeySharedStickyInOrder", testKeySharedStickyInOrder)
	register("PushWindow", testPushWindow)
	register("PullPermits", testPullPermits)
	register("ReceiverQueueClamped", testReceiverQueueClamped)
	register("NackRedeliveryShared", testNackRedeliveryShared)
	register("NackRedeliveryCountExclusive", testNackRedeliveryCountExclusive)
	register("RedeliveryAfterDisconnect", testRedeliveryAfterDisconnect)
	register("DeadLetterDefaultTopic", testDeadLetterDefault)
	register("DeadLetterCustomTopic", testDeadLetterCustom)
	register("DeadLetterPartitioned", testDeadLetterPartitioned)
	register("Unsubscribe", testUnsubscribe)
	register("UnsubscribeWithOthersConnected", testUnsubscribeWithOthers)
	register("ConsumerBadCommands", testConsumerBadCommands)
}

func testExclusiveBusy(t *testing.T, tg Target) {
	e := newEnv(t, tg)
	topic := tg.Topic(t)
	e.consumer(topic, "sub", nil)
	_, err := e.client.NewConsumer(e.ctx, topic, "sub", nil)
	var ce *stargate.ConnectError
	if !errors.Is(err, stargate.ErrBusy) || !errors.As(err, &ce) || ce.StatusCode != 409 {
		t.Fatalf("second exclusive consumer: %v, want 409", err)
	}
	if want := `Failed to create producer/consumer: {"errorMsg":"Exclusive consumer is already connected","reqId":`; !hasPrefix(ce.Message, want) {
		t.Errorf("409 %q, want %s…", ce.Message, want)
	}
}

// collect ranges over every consumer until n distinct messages (by ID) arrived,
// acking each; it returns what each consumer got, in order. Delivery is
// at-least-once, so a redelivered copy does not count towards n.
func collect(t *testing.T, ctx context.Context, n int, cs ...*stargate.Consumer) [][]stargate.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	got := make([][]stargate.Message, len(cs))
	distinct := map[string]bool{}
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() {
			for m, err := range c.Messages(ctx) {
				if err != nil {
					return
				}
				_ = m.Ack(ctx)
				mu.Lock()
				got[i] = append(got[i], m)
				distinct[m.ID.String()] = true
				if len(distinct) >= n {
					cancel()
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(distinct) < n {
		t.Fatalf("received %d of %d distinct messages", len(distinct), n)
	}
	return got
}

func testSharedSpreads(t *testing.T, tg Target) {
	e := newEnv(t, tg)
	topic := tg.Topic(t)
	o := &stargate.ConsumerOptions{Type: stargate.Shared, ReceiverQueueSize: 10}
	c1, c2 := e.consumer(topic, "sub", o), e.consumer(topic, "sub", o)
	p := e.producer(topic, nil)
	const n = 200
	e.sendAll(p, payloadMsgs("m", n)...)
	got := collect(t, e.ctx, n, c1, c2)
	seen := map[string]bool{}
	for _, ms := range got {
		for _, m := range ms {
			seen[string(m.Payload)] = true
		}
	}
	if len(got[0]) == 0 || len(got[1]) == 0 || len(seen) != n {
		t.Fatalf("shared: %d and %d messages, %d distinct", len(got[0]), len(got[1]), len(seen))
	}
}

// testFailoverOneActive: one consumer of a Failover subscription gets
// everything — on a non-partitioned topic the one the broker's consistent
// hash ring picks — and when it leaves, another takes over.
// failoverSettle outlasts the broker's default activeConsumerFailoverDelayTimeMillis.
const failoverSettle = 1500 * time.Millisecond

func testFailoverOneActive(t *testing.T, tg Target) {
	names := []string{"c-2", "c-0", "c-1"} // connection order
	for range 3 {
		topic := tg.Topic(t)
		var cs []*raw
		for _, n := range names {
			cs = append(cs, dial(t, tg, consumerPath(topic, "sub")+"?subscriptionType=Failover&consumerName="+n))
		}
		// The broker switches the active consumer activeConsumerFailoverDelayTimeMillis
		// (1 s by default) after a consumer joins; messages sent earlier may go to the
		// previous active one. Let the ring settle before producing.
		time.Sleep(failoverSettle)
		p := dial(t, tg, producerPath(topic))
		for i := range 5 {
			p.produce("m"+itoa(i), itoa(i))
		}
		want := failoverPick(topic, []string{"c-0", "c-1", "c-2"})
		for i, c := range cs {
			if names[i] == want {
				c.receive(5)
			}
		}
		time.Sleep(quiet) // give a wrong dispatch time to show
		for i, c := range cs {
			if names[i] != want && len(c.frames) > 0 {
				t.Errorf("topic %s: %s got messages; want only %s active", topic, names[i], want)
			}
		}
		for _, c := range cs {
			c.close()
		}
	}

	e := newEnv(t, tg)
	topic := tg.Topic(t)
	c1 := e.consumer(topic, "sub", &stargate.ConsumerOptions{Type: stargate.Failover, Name: "one"})
	c2 := e.consumer(topic, "sub", &stargate.ConsumerOptions{Type: stargate.Failover, Name: "two"})
	// As above: let the broker's delayed switch of the active consumer
	// happen before producing (a switch in the middle left the standby
	// with nothing in one CI run: "after 0 of 10 messages").
	time.Sleep(failoverSettle)
	p := e.producer(topic, nil)
	e.sendAll(p, payloadMsgs("a", 20)...)
	got := collect(t, e.ctx, 20, c1, c2)
	if len(got[0]) != 0 && len(got[1]) != 0 {
		t.Fatalf("failover delivered to both: %d, %d", len(got[0]), len(got[1]))
	}
	active, standby := c1, c2
	if len(got[1]) > 0 {
		active, standby = c2, c1
	}
	active.Close()
	e.sendAll(p, payloadMsgs("b", 10)...)
	if ms := e.receive(standby, 10, true); string(ms[0].Payload) != "b0" {
		t.Fatalf("standby got %q first, want b0", ms[0].Payload)
	}
}

// failoverPick is the broker's choice of the active Failover consumer on a
// non-partitioned topic (AbstractDispatcherSingleActiveConsumer): names
// sorted, 100 Murmur3 hashes of name+j each on a ring, the topic's hash
// takes the first at or after it.
func failoverPick(topic string, sorted []string) string {
	ring := map[uint32]string{}
	for _, n := range sorted {
		for j := range 100 {
			ring[murmur3(n+itoa(j))] = n
		}
	}
	h := murmur3(topic)
	var best, first uint32
	found, any := false, false
	for k := range ring {
		if k >= h && (!found || k < best) {
			best, found = k, true
		}
		if !any || k < first {
			first, any = k, true
		}
	}
	if !found {
		best = first
	}
	return ring[best]
}

// murmur3 is Pulsar's Murmur3_32Hash (seed 0, masked non-negative).
func murmur3(s string) uint32 {
	const c1, c2 = 0xcc9e2d51, 0x1b873593
	data := []byte(s)
	var h uint32
	mix := func(k uint32) uint32 {
		k *= c1
		k = bits.RotateLeft32(k, 15)
		return k * c2
	}
	n := len(data) / 4
	for i := range n {
		h ^= mix(binary.LittleEndian.Uint32(data[4*i:]))
		h = bits.RotateLeft32(h, 13)
		h = h*5 + 0xe6546b64
	}
	var k uint32
	tail := data[4*n:]
	for i := len(tail) - 1; i >= 0; i-- {
		k ^= uint32(tail[i]) << (8 * i)
	}
	if len(tail) > 0 {
		h ^= mix(k)
	}
	h ^= uint32(len(data))
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h & 0x7fffffff
}

func testKeySharedStickyInOrder(t *testing.T, tg Target) {
	e := newEnv(t, tg)
	topic := tg.Topic(t)
	o := &stargate.ConsumerOptions{Type: stargate.KeyShared}
	c1, c2 := e.consumer(topic, "sub", o), e.consumer(topic, "sub", o)
	p := e.producer(topic, nil)
	const keys, per = 20, 10
	var in []stargate.Message
	for i := range per {
		for k := range keys {
			in = append(in, stargate.Message{Key: "key-" + itoa(k), Payload: []byte(itoa(i))})
		}
	}
	e.sendAll(p, in...)
	got := collect(t, e.ctx, len(in), c1, c2)
	owner := map[string]int{}
	for ci, ms := range got {
		next := map[string]int{}
		for _, m := range ms {
			if o, ok := owner[m.Key]; ok && o != ci {
				t.Fatalf("key %s went to both consumers", m.Key)
			}
			owner[m.Key] = ci
			if string(m.Payload) != itoa(next[m.Key]) {
				t.Fatalf("key %s: got %s, want %d (out of order)", m.Key, m.Payload, next[m.Key])
			}
			next[m.Key]++
		}
	}
	if len(got[0]) == 0 || len(got[1]) == 0 {
		t.Errorf("key_shared: %d and %d messages; want both used for %d keys", len(got[0]), len(got[1]), keys)
	}
}

// testPushWindow: receiverQueueSize=N and no acks → exactly N messages;
// each ack frees one more.
func testPushWindow(t *testing.T, tg Target) {
	topic := tg.Topic(t)
	c := dial(t, tg, consumerPath(topic, "sub")+"?receiverQueueSize=5")
	p := dial(t, tg, producerPath(topic))
	for i := range 10 {
		p.produce("m"+itoa(i), itoa(i))
	}
	ms := c.receive(5)
	c.none(quiet)
	c.ack(ms[0])
	m := c.receive(1)[0]
	if payloadOf(t, m) != "m5" {
		t.Errorf("after one ack got %s, want m5", payloadOf(t, m))
	}
	c.none(quiet)
	c.ack(ms[1])
	c.ack(ms[2])
	if got := payloads(t, c.receive(2)); !slices.Equal(got, []string{"m6", "m7"}) {
		t.Errorf("after two acks got %v", got)
	}
	c.none(quiet)
}

// testPullPermits: in pull mode nothing comes without permits, and a
// permit of N delivers exactly N.
func testPullPermits(t *testing.T, tg Target) {
	topic := tg.Topic(t)
	c := dial(t, tg, consumerPath(topic, "sub")+"?pullMode=true")
	p := dial(t, tg, producerPath(topic))
	for i := range 10 {
		p.produce("m"+itoa(i), itoa(i))
	}
	c.none(quiet)
	c.send(map[string]any{"type": "permit", "permitMessages": 3})
	if got := payloads(t, c.receive(3)); !slices.Equal(got, []string{"m0", "m1", "m2"}) {
		t.Errorf("permit 3: %v", got)
	}
	c.none(quiet)
	// Permits accumulate; acks do not open anything in pull mode.
	c.send(map[string]any{"type": "permit", "permitMessages": 1})
	c.send(map[string]any{"type": "permit", "permitMessages": 2})
	ms := c.receive(3)
	for _, m := range ms {
		c.ack(m)
	}
	c.none(quiet)
}

// testReceiverQueueClamped: receiverQueueSize above 1000 is accepted and
// clamped: the push window is 1000.
func testReceiverQueueClamped(t *testing.T, tg Target) {
	e := newEnv(t, tg)
	topic := tg.Topic(t)
	c := dial(t, tg, consumerPath(topic, "sub")+"?receiverQueueSize=5000")
	p := e.producer(topic, nil)
	e.sendAll(p, payloadMsgs("m", 1010)...)
	ms := c.receive(1000)
	c.none(quiet)
	c.ack(ms[0])
	c.receive(1)
	c.none(quiet)
}

// nacker consumes on a raw socket, nacking everything, and records the
// redelivery counts it saw.
func nackAll(t *testing.T, c *raw, n int) []float64 {
	t.Helper()
	var counts []float64
	for range n {
		m := c.receive(1)[0]
		counts = append(counts, m["redeliveryCount"].(float64))
		c.send(map[string]any{"type": "negativeAcknowledge", "messageId": m["messageId"]})
	}
	return counts
}

func testNackRedeliveryShared(t *testing.T, tg Target) {
	topic := tg.Topic(t)
	c := dial(t, tg, consumerPath(topic, "sub")+"?subscriptionType=Shared&negativeAckRedeliveryDelay=100")
	p := dial(t, tg, producerPath(topic))
	p.produce("x", "1")
	if got := nackAll(t, c, 3); !slices.Equal(got, []float64{0, 1, 2}) {
		t.Fatalf("redelivery counts %v, want [0 1 2]", got)
	}
	m := c.receive(1)[0]
	if payloadOf(t, m) != "x" || m["redeliveryCount"] != 3.0 {
		t.Fatalf("fourth delivery %v", m)
	}
	c.ack(m)
	c.none(quiet)
}

// testNackRedeliveryCountExclusive: nacked messages come back on Exclusive
// and Failover subscriptions, but the broker counts redeliveries only for
// Shared and Key_Shared.
func testNackRedeliveryCountExclusive(t *testing.T, tg Target) {
	for _, typ := range []string{"Exclusive", "Failover"} {
		topic := tg.Topic(t)
		c := dial(t, tg, consumerPath(topic, "sub")+"?subscriptionType="+typ+"&negativeAckRedeliveryDelay=100")
		p := dial(t, tg, producerPath(topic))
		p.produce("x", "1")
		if got := nackAll(t, c, 3); !slices.Equal(got, []float64{0, 0, 0}) {
			t.Errorf("%s: redelivery counts %v, want [0 0 0]", typ, got)
		}
	}
}

// testRedeliveryAfterDisconnect: a message left unacked by a consumer that
// leaves goes to the next one; what its redelivery count says.
func testRedeliveryAfterDisconnect(t *testing.T, tg Target) {
	topic := tg.Topic(t)
	q := "?subscriptionType=Shared"
	c1 := dial(t, tg, consumerPath(topic, "sub")+q)
	p := dial(t, tg, producerPath(topic))
	p.produce("x", "1")
	if m := c1.receive(1)[0]; m["redeliveryCount"] != 0.0 {
		t.Fatalf("first delivery %v", m)
	}
	c2 := dial(t, tg, consumerPath(topic, "sub")+q)
	c2.none(quiet / 2)
	c1.close()
	m := c2.receive(1)[0]
	t.Logf("after the consumer left, redeliveryCount=%v", m["redeliveryCount"])
	if m["redeliveryCount"] != 0.0 {
		t.Errorf("redelivery after a disconnect: count %v, want 0", m["redeliveryCount"])
	}
	// A nack counts; the count is kept while a consumer is connected …
	c2.send(map[string]any{"type": "negativeAcknowledge", "messageId": m["messageId"]})
	c3 := dial(t, tg, consumerPath(topic, "sub")+q+"&negativeAckRedeliveryDelay=100")
	_ = c3
	// c2's default nack delay is 60 s; closing it hands the message over.
	c2.close()
	m = c3.receive(1)[0]
	t.Logf("after nack and disconnect, redeliveryCount=%v", m["redeliveryCount"])
	// … and reset when the last consumer leaves.
	c3.close()
	c4 := dial(t, tg, consumerPath(topic, "sub")+q)
	m4 := c4.receive(1)[0]
	t.Logf("after the last consumer left, redeliveryCount=%v", m4["redeliveryCount"])
	if m4["redeliveryCount"] != 0.0 {
		t.Errorf("after the last consumer left: count %v, want 0", m4["redeliveryCount"])
	}
	c4.ack(m4)
}

// deadLetter nacks until the message reaches dlq; it returns the
// redelivery counts seen on the way.
func deadLetter(t *testing.T, tg Target, topic, query string, dlqs ...string) ([]float64, int) {
	t.Helper()
	var watchers []*raw
	for _, d := range dlqs {
		watchers = append(watchers, dial(t, tg, consumerPath(d, "dlq-watch")+"?subscriptionInitialPosition=Earliest"))
	}
	c := dial(t, tg, consumerPath(topic, "sub")+"?subscriptionType=Shared&negativeAckRedeliveryDelay=100&maxRedeliverCount=2"+query)
	p := dial(t, tg, producerPath(topic))
	p.produce("dead", "1")
	counts := nackAll(t, c, 3)
	type hit struct {
		i int
		m map[string]any
	}
	hits := make(chan hit, len(watchers))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(stop)
	for i, w := range watchers {
		wg.Go(func() {
			select {
			case b := <-w.frames:
				var m map[string]any
				_ = jsonUnmarshal(b, &m)
				hits <- hit{i, m}
			case <-stop:
			}
		})
	}
	select {
	case h := <-hits:
		t.Logf("dead letter on %s: %v", dlqs[h.i], h.m)
		if payloadOf(t, h.m) != "dead" {
			t.Errorf("dead letter %v", h.m)
		}
		props, _ := h.m["properties"].(map[string]any)
		if keys(props) != "ORIGIN_MESSAGE_ID,ORIGIN_MESSAGE_IDY_TIME,REAL_SUBSCRIPTION,REAL_TOPIC" ||
			props["REAL_SUBSCRIPTION"] != "sub" || !hasPrefix(props["REAL_TOPIC"].(string), topic) ||
			props["ORIGIN_MESSAGE_ID"] != props["ORIGIN_MESSAGE_IDY_TIME"] {
			t.Errorf("dead letter properties %v", props)
		}
		c.none(quiet)
		return counts, h.i
	case <-time.After(waitFor + time.Second):
		t.Fatalf("no dead letter on %v", dlqs)
	}
	return nil, -1
}

func testDeadLetterDefault(t *testing.T, tg Target) {
	topic := tg.Topic(t)
	counts, _ := deadLetter(t, tg, topic, "", topic+"-sub-DLQ")
	if !slices.Equal(counts, []float64{0, 1, 2}) {
		t.Errorf("counts before the dead letter %v, want [0 1 2]", counts)
	}
}

func testDeadLetterCustom(t *testing.T, tg Target) {
	topic := tg.Topic(t)
	dlq := topic + "-custom-dead"
	deadLetter(t, tg, topic, "&deadLetterTopic="+dlq, dlq)
}

// testDeadLetterPartitioned: the default dead-letter topic of a partitioned
// topic.
func testDeadLetterPartitioned(t *testing.T, tg Target) {
	topic := tg.Topic(t)
	tg.CreatePartitionedTopic(t, topic, 2)
	_, i := deadLetter(t, tg, topic, "", topic+"-sub-DLQ", topic+"-partition-0-sub-DLQ", topic+"-partition-1-sub-DLQ")
	if i != 0 {
		t.Errorf("dead letter went to a per-partition topic")
	}
}

// testUnsubscribe: the subscription is removed; the socket stays open.
func testUnsubscribe(t *testing.T, tg Target) {
	e := newEnv(t, tg)
	topic := tg.Topic(t)
	c := e.consumer(topic, "gone", nil)
	e.consumer(topic, "kept", nil)
	if subs := tg.Subscriptions(t, topic); !slices.Equal(subs, []string{"gone", "kept"}) {
		t.Fatalf("subscriptions %v", subs)
	}
	if err := c.Unsubscribe(e.ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, waitFor, "the subscription to go", func() bool {
		return slices.Equal(tg.Subscriptions(t, topic), []string{"kept"})
	})
	// Raw: no reply, and the socket stays open.
	r := dial(t, tg, consumerPath(topic, "raw"))
	r.send(map[string]string{"type": "unsubscribe"})
	eventually(t, waitFor, "the subscription to go", func() bool {
		return slices.Equal(tg.Subscriptions(t, topic), []string{"kept"})
	})
	r.none(quiet)
	if err, closed := r.closed(0); closed {
		t.Errorf("socket closed after unsubscribe: %v", err)
	}
}

// testUnsubscribeWithOthers: unsubscribing while another consumer is
// connected fails and keeps the subscription.
func testUnsubscribeWithOthers(t *testing.T, tg Target) {
	topic := tg.Topic(t)
	c1 := dial(t, tg, consumerPath(topic, "sub")+"?subscriptionType=Shared")
	c2 := dial(t, tg, consumerPath(topic, "sub")+"?subscriptionType=Shared")
	c1.send(map[string]string{"type": "unsubscribe"})
	if code, reason, closed := closeOf(c1, waitFor); !closed || code != -1 {
		t.Errorf("after a failed unsubscribe: closed=%v code=%d %q, want the connection dropped without a close frame", closed, code, reason)
	}
	if subs := tg.Subscriptions(t, topic); !slices.Equal(subs, []string{"sub"}) {
		t.Errorf("subscriptions %v, want [sub]", subs)
	}
	// The other consumer keeps working.
	p := dial(t, tg, producerPath(topic))
	p.produce("x", "1")
	c2.ack(c2.receive(1)[0])
}

// testConsumerBadCommands: frames the consumer handler cannot use end the
// session — exceptions with 1011 and their message, the handler's own
// WebSocketError closes (Jetty 9.4 refuses code 3) without a close frame.
func testConsumerBadCommands(t *testing.T, tg Target) {
	const npe = `Cannot invoke "String.getBytes(java.nio.charset.Charset)" because "src" is null`
	for _, f := range []struct {
		query, frame string
		code         int
		reason       string
	}{
		{"", "not json", -1, ""},
		{"", `{"messageId":"!!!"}`, 1011, "Illegal base64 character 21"},
		{"", `{"messageId":"aGVsbG8="}`, -1, ""}, // base64, not MessageIdData
		{"", `{}`, 1011, npe},
		{"", `{"type":"negativeAcknowledge"}`, 1011, npe},
		{"?pullMode=true", `{"type":"permit"}`, -1, ""},
	} {
		topic := tg.Topic(t)
		c := dial(t, tg, consumerPath(topic, "sub")+f.query)
		c.send(f.frame)
		code, reason, closed := closeOf(c, waitFor)
		if f.reason == npe && reason == "NullPointerException" {
			// The JVM drops the helpful message once the throw site is
			// hot (OmitStackTraceInFastThrow); the proxy then falls back
			// to the class name.
			reason = npe
		}
		if !closed || code != f.code || reason != f.reason {
			t.Errorf("frame %s%s: closed=%v code=%d reason=%q, want code %d %q", f.query, f.frame, closed, code, reason, f.code, f.reason)
		}
	}
}

// closeOf waits for c to end: the close code and reason, or -1 when the
// connection ended without a close frame.
func closeOf(c *raw, d time.Duration) (int, string, bool) {
	err, closed := c.closed(d)
	var ce *gws.CloseError
	if errors.As(err, &ce) {
		return int(ce.Code), string(ce.Reason), closed
	}
	return -1, "", closed
}
