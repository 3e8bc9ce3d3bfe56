package conformance

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
)

func init() {
	register("ReaderPositions", testReaderPositions)
	register("ReaderWindow", testReaderWindow)
	register("ReaderBadMessageID", testReaderBadMessageID)
	register("ReaderPartitionedFromMessageID", testReaderPartitionedFromMessageID)
	register("EndOfTopic", testEndOfTopic)
	register("MultiTopicList", testMultiTopicList)
	register("MultiTopicPattern", testMultiTopicPattern)
}

// testReaderPositions: earliest, latest and an id (exclusive).
func testReaderPositions(t *testing.T, tg Target) {
	topic := tg.Topic(t)
	p := dial(t, tg, producerPath(topic))
	var ids []string
	for i := range 3 {
		ids = append(ids, p.produce("m"+itoa(i), itoa(i))["messageId"].(string))
	}
	r := dial(t, tg, readerPath(topic)+"?messageId=earliest")
	ms := r.receive(3)
	if got := payloads(t, ms); !slices.Equal(got, []string{"m0", "m1", "m2"}) {
		t.Errorf("earliest: %v", got)
	}
	for i, m := range ms {
		if m["messageId"] != ids[i] || m["redeliveryCount"] != 0.0 {
			t.Errorf("reader message %d: %v", i, m)
		}
		if got := keys(m); got != "messageId,payload,properties,publishTime,redeliveryCount" {
			t.Errorf("reader message %d: fields %s", i, got)
		}
	}
	from := dial(t, tg, readerPath(topic)+"?messageId="+url.QueryEscape(ids[0]))
	if got := payloads(t, from.receive(2)); !slices.Equal(got, []string{"m1", "m2"}) {
		t.Errorf("from %s: %v", ids[0], got)
	}
	latest := dial(t, tg, readerPath(topic))
	latest.none(quiet)
	p.produce("m3", "3")
	if got := payloads(t, latest.receive(1)); !slices.Equal(got, []string{"m3"}) {
		t.Errorf("latest: %v", got)
	}
	from.receive(1)
	r.receive(1)

	// The client: a Reader from an id yields what follows it.
	e := newEnv(t, tg)
	id, err := stargate.ParseMessageID(ids[1])
	if err != nil {
		t.Fatal(err)
	}
	rd := e.reader(topic, &stargate.ReaderOptions{StartMessageID: id})
	if got := strs(e.read(rd, 2)); !slices.Equal(got, []string{"m2", "m3"}) {
		t.Errorf("Reader from m1: %v", got)
	}
}

// testReaderWindow: a reader's window is receiverQueueSize; any frame frees
// one slot.
func testReaderWindow(t *testing.T, tg Target) {
	topic := tg.Topic(t)
	p := dial(t, tg, producerPath(topic))
	for i := range 8 {
		p.produce("m"+itoa(i), itoa(i))
	}
	r := dial(t, tg, readerPath(topic)+"?messageId=earliest&receiverQueueSize=3")
	ms := r.receive(3)
	r.none(quiet)
	r.ack(ms[0])
	if got := payloads(t, r.receive(1)); !slices.Equal(got, []string{"m3"}) {
		t.Errorf("after one ack: %v", got)
	}
	r.none(quiet)
	// The content is not looked at.
	r.send(`{"anything":1}`)
	r.send(`{"messageId":"not an id"}`)
	if got := payloads(t, r.receive(2)); !slices.Equal(got, []string{"m4", "m5"}) {
		t.Errorf("after two frames: %v", got)
	}
	r.none(quiet)
	// isEndOfTopic is answered and frees nothing.
	if r.endOfTopic() {
		t.Error("endOfTopic true on a live topic")
	}
	r.none(quiet)
}

// testReaderBadMessageID: a start id that is not MessageIdData → 500.
func testReaderBadMessageID(t *testing.T, tg Target) {
	topic := tg.Topic(t)
	for _, id := range []string{"aGVsbG8=", "abc"} {
		r := dialRefused(t, tg.URL(), readerPath(topic)+"?messageId="+url.QueryEscape(id), nil)
		t.Logf("messageId=%s: %d %q", id, r.status, r.msg)
		if r.status != 500 || !hasPrefix(r.msg, "Failed to create reader: ") {
			t.Errorf("messageId=%s: %d %q, want 500 Failed to create reader: …", id, r.status, r.msg)
		}
	}
}

// testReaderPartitionedFromMessageID: a reader on a partitioned topic
// starts only at earliest or latest; a message id → 500, which the client
// turns into an *ArgError.
func testReaderPartitionedFromMessageID(t *testing.T, tg Target) {
	topic := tg.Topic(t)
	tg.CreatePartitionedTopic(t, topic, 2)
	p := dial(t, tg, producerPath(topic))
	id := p.produce("m", "1")["messageId"].(string)
	r := dialRefused(t, tg.URL(), readerPath(topic)+"?messageId="+url.QueryEscape(id), nil)
	if r.status != 500 || !strings.Contains(r.msg, "The partitioned topic startMessageId is illegal") {
		t.Errorf("messageId=%s: %d %q, want 500 … The partitioned topic startMessageId is illegal", id, r.status, r.msg)
	}
	for _, q := range []string{"?messageId=earliest", ""} {
		dial(t, tg, readerPath(topic)+q)
	}
	e := newEnv(t, tg)
	mid, err := stargate.ParseMessageID(id)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.NewReader(e.ctx, topic, &stargate.ReaderOptions{StartMessageID: mid})
	var ae *stargate.ArgError
	if !errors.As(err, &ae) || ae.Arg != "ReaderOptions.StartMessageID" {
		t.Errorf("NewReader from a message id: %v, want an *ArgError for ReaderOptions.StartMessageID", err)
	}
}

// testEndOfTopic: isEndOfTopic is false until the topic is terminated and
// read; then producers fail with send-error:8 and new ones get 503.
func testEndOfTopic(t *testing.T, tg Target) {
	topic := tg.Topic(t)
	c := dial(t, tg, consumerPath(topic, "sub"))
	pull := dial(t, tg, consumerPath(topic, "pull")+"?pullMode=true")
	p := dial(t, tg, producerPath(topic))
	p.produce("a", "1")
	p.produce("b", "2")
	for _, m := range c.receive(2) {
		c.ack(m)
	}
	if c.endOfTopic() {
		t.Fatal("endOfTopic true before terminate")
	}
	tg.Terminate(t, topic)
	eventually(t, waitFor, "endOfTopic", c.endOfTopic)
	// A consumer that has read but not acknowledged everything: the end
	// comes with the last ack (the broker waits for an empty backlog).
	if pull.endOfTopic() {
		t.Error("endOfTopic true with 2 unread messages")
	}
	pull.send(map[string]any{"type": "permit", "permitMessages": 2})
	ms := pull.receive(2)
	if pull.endOfTopic() {
		t.Error("endOfTopic true with 2 unacknowledged messages")
	}
	pull.ack(ms[0])
	pull.ack(ms[1])
	eventually(t, waitFor, "endOfTopic on the pull consumer", pull.endOfTopic)

	for i := range 2 {
		p.send(map[string]any{"payload": b64("late"), "context": "late" + itoa(i)})
		a := p.next()
		// Usually "…: Topic was terminated"; when the broker-side producer
		// was reconnecting at the time, the broker's refusal JSON.
		msg, _ := a["errorMsg"].(string)
		if a["result"] != "send-error:8" || a["context"] != "late"+itoa(i) ||
			!hasPrefix(msg, "org.apache.pulsar.client.api.PulsarClientException$TopicTerminatedException: ") {
			t.Errorf("send after terminate: %v, want send-error:8", a)
		}
	}
	r := dialRefused(t, tg.URL(), producerPath(topic), nil)
	if want := `Failed to create producer/consumer: {"errorMsg":"org.apache.pulsar.broker.service.BrokerServiceException$TopicTerminatedException: Topic was already terminated","reqId":`; r.status != 503 || !hasPrefix(r.msg, want) {
		t.Errorf("producer on a terminated topic: %d %q, want 503 %s…", r.status, r.msg, want)
	}
	rd := dial(t, tg, readerPath(topic)+"?messageId=earliest")
	rd.receive(2)
	eventually(t, waitFor, "endOfTopic on a reader", rd.endOfTopic)

	// The client's Reader stops at the end.
	e := newEnv(t, tg)
	cr := e.reader(topic, &stargate.ReaderOptions{Start: stargate.Earliest, StopAtEndOfTopic: true})
	var got []string
	ctx, cancel := contextWithTimeout(e, waitFor)
	defer cancel()
	for m, err := range cr.Messages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(m.Payload))
	}
	if !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("reader to the end: %v", got)
	}
}

// testMultiTopicList: a v3 consumer on a list of topics.
func testMultiTopicList(t *testing.T, tg Target) {
	t1, t2 := tg.Topic(t), tg.Topic(t)
	c := dial(t, tg, "/ws/v3/consumer/sub?topics="+url.QueryEscape(t1+","+t2))
	for i, topic := range []string{t1, t2} {
		dial(t, tg, producerPath(topic)).produce("from"+itoa(i), "1")
	}
	ms := c.receive(2)
	got := payloads(t, ms)
	slices.Sort(got)
	if !slices.Equal(got, []string{"from0", "from1"}) {
		t.Errorf("v3 list: %v", got)
	}
	for _, m := range ms {
		if _, ok := m["topic"]; ok {
			t.Errorf("v3 message names its topic: %v", m)
		}
		c.ack(m)
	}
	c.none(quiet)

	// The client.
	e := newEnv(t, tg)
	mc, err := e.client.NewMultiTopicConsumer(e.ctx, []string{t1, t2}, "client", &stargate.ConsumerOptions{InitialPosition: stargate.Earliest})
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	if got := strs(e.receive(mc, 2, true)); len(got) != 2 {
		t.Errorf("client v3: %v", got)
	}
}

// testMultiTopicPattern: a v3 consumer on a pattern picks up the existing
// topics that match.
func testMultiTopicPattern(t *testing.T, tg Target) {
	base := tg.Topic(t)
	t1, t2, other := base+"-a", base+"-b", base+"x-c"
	for i, topic := range []string{t1, t2, other} {
		dial(t, tg, producerPath(topic)).produce("m"+itoa(i), "1")
	}
	pattern := "public/default/" + base[len("persistent://public/default/"):] + "-.*"
	c := dial(t, tg, "/ws/v3/consumer/sub?subscriptionInitialPosition=Earliest&topicsPattern="+url.QueryEscape(pattern))
	ms := c.receive(2)
	got := payloads(t, ms)
	slices.Sort(got)
	if !slices.Equal(got, []string{"m0", "m1"}) {
		t.Errorf("v3 pattern: %v", got)
	}
	for _, m := range ms {
		c.ack(m)
	}
	c.none(quiet)
	_ = time.Second
}
