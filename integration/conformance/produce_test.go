package conformance

import (
	"bytes"
	"errors"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
)

func init() {
	register("RoundTrip", testRoundTrip)
	register("ProducerAckShape", testProducerAckShape)
	register("ConsumerMessageShape", testConsumerMessageShape)
	register("EmptyKey", testEmptyKey)
	register("MessageIDNonBatched", testMessageIDNonBatched)
	register("MessageIDBatched", testMessageIDBatched)
	register("MessageIDBatchOfOne", testMessageIDBatchOfOne)
	register("MessageIDPartitioned", testMessageIDPartitioned)
	register("MessageIDPartitionOwnName", testMessageIDPartitionOwnName)
	register("SendErrors", testSendErrors)
	register("ProducerNameConflict", testProducerNameConflict)
}

// testRoundTrip: payloads (empty and binary included), keys, properties and
// event times survive produce → consume, and consumed ids are the acks' ids.
func testRoundTrip(t *testing.T, tg Target) {
	e := newEnv(t, tg)
	topic := tg.Topic(t)
	c := e.consumer(topic, "sub", nil)
	p := e.producer(topic, nil)
	bin := make([]byte, 256)
	for i := range bin {
		bin[i] = byte(i)
	}
	ev := time.Date(2024, 5, 1, 10, 0, 0, 123_000_000, time.UTC)
	in := []stargate.Message{
		{Payload: []byte("hello")},
		{Payload: nil},
		{Payload: bin},
		{Payload: []byte("keyed"), Key: "k1", Properties: map[string]string{"a": "1", "b": ""}, EventTime: ev},
	}
	ids := e.sendAll(p, in...)
	got := e.receive(c, len(in), true)
	for i, m := range got {
		w := in[i]
		if !bytes.Equal(m.Payload, w.Payload) {
			t.Errorf("message %d: payload %q, want %q", i, m.Payload, w.Payload)
		}
		if m.Key != w.Key {
			t.Errorf("message %d: key %q, want %q", i, m.Key, w.Key)
		}
		if len(m.Properties) != len(w.Properties) {
			t.Errorf("message %d: properties %v, want %v", i, m.Properties, w.Properties)
		}
		for k, v := range w.Properties {
			if m.Properties[k] != v {
				t.Errorf("message %d: property %s=%q, want %q", i, k, m.Properties[k], v)
			}
		}
		if !m.EventTime.Equal(w.EventTime) {
			t.Errorf("message %d: event time %v, want %v", i, m.EventTime, w.EventTime)
		}
		if m.PublishTime.IsZero() || time.Since(m.PublishTime) > 10*time.Minute {
			t.Errorf("message %d: publish time %v", i, m.PublishTime)
		}
		if !m.ID.Equal(ids[i]) || m.ID.String() != ids[i].String() {
			t.Errorf("message %d: id %v (%s), ack said %v (%s)", i, m.ID, m.ID, ids[i], ids[i])
		}
		if m.RedeliveryCount != 0 {
			t.Errorf("message %d: redelivery count %d", i, m.RedeliveryCount)
		}
	}
}

// testProducerAckShape: the fields of a producer ack.
func testProducerAckShape(t *testing.T, tg Target) {
	topic := tg.Topic(t)
	p := dial(t, tg, producerPath(topic))
	p.send(map[string]any{"payload": b64("x"), "context": "c1"})
	a := p.next()
	if got, want := keys(a), "context,errorCode,messageId,result,schemaVersion"; got != want {
		t.Fatalf("ack %v: fields %s, want %s", a, got, want)
	}
	if a["result"] != "ok" || a["context"] != "c1" || a["errorCode"] != 0.0 || a["schemaVersion"] != 0.0 {
		t.Fatalf("ack %v", a)
	}
	// Without a context the ack has none.
	p.send(map[string]any{"payload": b64("y")})
	a = p.next()
	if got, want := keys(a), "errorCode,messageId,result,schemaVersion"; got != want {
		t.Fatalf("ack %v: fields %s, want %s", a, got, want)
	}
}

var timeFormat = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,3})?)?(Z|[+-]\d\d:\d\d)$`)

// testConsumerMessageShape: the fields of a pushed message.
func testConsumerMessageShape(t *testing.T, tg Target) {
	topic := tg.Topic(t)
	c := dial(t, tg, consumerPath(topic, "sub"))
	p := dial(t, tg, producerPath(topic))
	p.produce("plain", "1")
	p.send(map[string]any{"payload": b64("full"), "context": "2", "key": "k",
		"properties": map[string]string{"p": "v"}, "eventTime": "2024-05-01T10:00:00.5Z"})
	if a := p.next(); a["result"] != "ok" {
		t.Fatalf("ack %v", a)
	}
	ms := c.receive(2)
	for i, m := range ms {
		c.ack(m)
		want := "messageId,payload,properties,publishTime,redeliveryCount"
		if i == 1 {
			want = "eventTime,key,messageId,payload,properties,publishTime,redeliveryCount"
		}
		if got := keys(m); got != want {
			t.Errorf("message %d %v: fields %s, want %s", i, m, got, want)
		}
		if pt, _ := m["publishTime"].(string); !timeFormat.MatchString(pt) {
			t.Errorf("message %d: publishTime %q", i, pt)
		}
		if m["redeliveryCount"] != 0.0 {
			t.Errorf("message %d: redeliveryCount %v", i, m["redeliveryCount"])
		}
		if fs := idFields(t, m["messageId"].(string)); !slices.Equal(fs, []int{1, 2, 6}) {
			t.Errorf("message %d: id fields %v, want [1 2 6]", i, fs)
		}
	}
	if props, ok := ms[0]["properties"].(map[string]any); !ok || len(props) != 0 {
		t.Errorf("properties without any: %v, want {}", ms[0]["properties"])
	}
	m := ms[1]
	if m["key"] != "k" || payloadOf(t, m) != "full" {
		t.Errorf("message %v", m)
	}
	if props, _ := m["properties"].(map[string]any); props["p"] != "v" {
		t.Errorf("properties %v", m["properties"])
	}
	ev, _ := m["eventTime"].(string)
	if et, err := time.Parse(time.RFC3339Nano, ev); err != nil || !et.Equal(time.Date(2024, 5, 1, 10, 0, 0, 5e8, time.UTC)) || !timeFormat.MatchString(ev) {
		t.Errorf("eventTime %q (%v)", ev, err)
	}
}

// testEmptyKey: "key":"" is a key: the message comes back with
// "key":"".
func testEmptyKey(t *testing.T, tg Target) {
	topic := tg.Topic(t)
	c := dial(t, tg, consumerPath(topic, "sub"))
	p := dial(t, tg, producerPath(topic))
	p.send(map[string]any{"payload": b64("x"), "context": "1", "key": ""})
	if a := p.next(); a["result"] != "ok" {
		t.Fatalf("ack %v", a)
	}
	m := c.receive(1)[0]
	if k, ok := m["key"]; !ok || k != "" {
		t.Fatalf("message %v: want \"key\":\"\"", m)
	}
}

// testMessageIDNonBatched: ids without batching carry ledger, entry and
// batch_size 0, and consumed ids are the acks' strings.
func testMessageIDNonBatched(t *testing.T, tg Target) {
	topic := tg.Topic(t)
	c := dial(t, tg, consumerPath(topic, "sub"))
	p := dial(t, tg, producerPath(topic))
	var acked []string
	for i := range 3 {
		a := p.produce("m"+itoa(i), itoa(i))
		s := a["messageId"].(string)
		if fs := idFields(t, s); !slices.Equal(fs, []int{1, 2, 6}) {
			t.Errorf("ack id %s: fields %v, want [1 2 6]", s, fs)
		}
		id := idOf(t, a)
		if id.BatchIndex != -1 || id.BatchSize != 0 || id.Partition != -1 {
			t.Errorf("ack id %#v", id)
		}
		acked = append(acked, s)
	}
	for i, m := range c.receive(3) {
		if m["messageId"] != acked[i] {
			t.Errorf("message %d: id %s, ack said %s", i, m["messageId"], acked[i])
		}
	}
	a0, a1 := mustParse(t, acked[0]), mustParse(t, acked[1])
	if a0.LedgerID != a1.LedgerID || a1.EntryID != a0.EntryID+1 {
		t.Errorf("ids %#v, %#v: want consecutive entries of one ledger", a0, a1)
	}
}

func mustParse(t *testing.T, s string) stargate.MessageID {
	id, err := stargate.ParseMessageID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// testMessageIDBatched: a batching producer's acks carry batch_index (and
// batch_size 0); consumed messages carry batch_index and the batch's size.
func testMessageIDBatched(t *testing.T, tg Target) {
	topic := tg.Topic(t)
	c := dial(t, tg, consumerPath(topic, "sub"))
	p := dial(t, tg, producerPath(topic)+"?batchingEnabled=true&batchingMaxPublishDelay=2000&batchingMaxMessages=3")
	for i := range 3 {
		p.send(map[string]any{"payload": b64("b" + itoa(i)), "context": itoa(i)})
	}
	acks := map[string]stargate.MessageID{}
	for range 3 {
		a := p.next()
		if a["result"] != "ok" {
			t.Fatalf("ack %v", a)
		}
		acks[a["context"].(string)] = idOf(t, a)
	}
	for i := range 3 {
		id := acks[itoa(i)]
		if id.BatchIndex != int32(i) || id.BatchSize != 0 || id.LedgerID != acks["0"].LedgerID || id.EntryID != acks["0"].EntryID {
			t.Errorf("ack %d: %#v, want batch index %d, batch size 0, one entry", i, id, i)
		}
	}
	for i, m := range c.receive(3) {
		id := idOf(t, m)
		if id.BatchIndex != int32(i) || id.BatchSize != 3 || id.EntryID != acks["0"].EntryID {
			t.Errorf("message %d: %#v, want batch index %d of 3", i, id, i)
		}
		if fs := idFields(t, m["messageId"].(string)); !slices.Equal(fs, []int{1, 2, 4, 6}) {
			t.Errorf("message %d: id fields %v, want [1 2 4 6]", i, fs)
		}
		c.ack(m)
	}
}

// testMessageIDBatchOfOne: what a batch holding one message looks like.
func testMessageIDBatchOfOne(t *testing.T, tg Target) {
	topic := tg.Topic(t)
	c := dial(t, tg, consumerPath(topic, "sub"))
	p := dial(t, tg, producerPath(topic)+"?batchingEnabled=true&batchingMaxPublishDelay=10")
	a := p.produce("solo", "1")
	m := c.receive(1)[0]
	t.Logf("batch of one: ack %s %#v, consumed %s %#v", a["messageId"], idOf(t, a), m["messageId"], idOf(t, m))
	ack, got := idOf(t, a), idOf(t, m)
	// The Java producer sends a batch of one as a plain message.
	if ack.BatchIndex != -1 || ack.BatchSize != 0 || a["messageId"] != m["messageId"] {
		t.Errorf("ack id %#v: want a plain id", ack)
	}
	if got.BatchIndex != -1 || got.BatchSize != 0 {
		t.Errorf("consumed id %#v: want a plain id", got)
	}
}

// testMessageIDPartitioned: ids of a partitioned topic carry the partition,
// on acks and on messages consumed through the base name.
func testMessageIDPartitioned(t *testing.T, tg Target) {
	topic := tg.Topic(t)
	tg.CreatePartitionedTopic(t, topic, 3)
	c := dial(t, tg, consumerPath(topic, "sub"))
	p := dial(t, tg, producerPath(topic))
	parts := map[int32]bool{}
	acked := map[string]bool{}
	for i := range 12 {
		p.send(map[string]any{"payload": b64("m" + itoa(i)), "context": itoa(i), "key": "key-" + itoa(i)})
	}
	for range 12 {
		a := p.next()
		if a["result"] != "ok" {
			t.Fatalf("ack %v", a)
		}
		id := idOf(t, a)
		if id.Partition < 0 || id.Partition > 2 {
			t.Errorf("ack id %#v: partition out of range", id)
		}
		if fs := idFields(t, a["messageId"].(string)); !slices.Equal(fs, []int{1, 2, 3, 6}) {
			t.Errorf("ack id fields %v, want [1 2 3 6]", fs)
		}
		parts[id.Partition] = true
		acked[a["messageId"].(string)] = true
	}
	if len(parts) < 2 {
		t.Errorf("12 keys went to partitions %v only", parts)
	}
	for _, m := range c.receive(12) {
		if !acked[m["messageId"].(string)] {
			t.Errorf("consumed id %s (%#v) not among the acks", m["messageId"], idOf(t, m))
		}
		c.ack(m)
	}
}

// testSendErrors: send-error:7 for bad payloads and event times (with the
// context), send-error:3 without a context for frames that are not JSON.
func testSendErrors(t *testing.T, tg Target) {
	topic := tg.Topic(t)
	p := dial(t, tg, producerPath(topic))
	const npe = `Cannot invoke "String.getBytes(java.nio.charset.Charset)" because "src" is null`
	for i, f := range []struct {
		frame map[string]any
		msg   string
	}{
		{map[string]any{"payload": "not base64!", "context": "a0"}, "Invalid Base64 message-payload error=Illegal base64 character 20"},
		{map[string]any{"context": "a1"}, npe},
		{map[string]any{"payload": b64("x"), "eventTime": "12345", "context": "a2"}, "Text '12345' could not be parsed at index 0"},
		{map[string]any{"payload": b64("x"), "eventTime": "2024-05-01T10:00:00", "context": "a3"}, "Text '2024-05-01T10:00:00' could not be parsed at index 19"},
	} {
		p.send(f.frame)
		a := p.next()
		if a["result"] != "send-error:7" || a["context"] != "a"+itoa(i) {
			t.Errorf("frame %v: ack %v, want send-error:7 with context a%d", f.frame, a, i)
		}
		msg, ok := a["errorMsg"]
		if !ok && f.msg == npe {
			// A hot NullPointerException has no message (the JVM's
			// OmitStackTraceInFastThrow); errorMsg is then left out.
			continue
		}
		if got, want := keys(a), "context,errorCode,errorMsg,result,schemaVersion"; got != want || msg != f.msg {
			t.Errorf("frame %v: ack %v, want fields %s and errorMsg %q", f.frame, a, want, f.msg)
		}
	}
	for _, f := range []string{"not json", `[{"payload":"eA=="}]`} {
		p.send(f)
		a := p.next()
		if a["result"] != "send-error:3" {
			t.Errorf("frame %s: ack %v, want send-error:3", f, a)
		}
		if got, want := keys(a), "errorCode,errorMsg,result,schemaVersion"; got != want {
			t.Errorf("frame %s: ack fields %s, want %s", f, got, want)
		}
	}
	// The producer still works.
	p.produce("ok", "z")
}

// testProducerNameConflict: a producer name already connected → 409.
func testProducerNameConflict(t *testing.T, tg Target) {
	topic := tg.Topic(t)
	dial(t, tg, producerPath(topic)+"?producerName=dup")
	r := dialRefused(t, tg.URL(), producerPath(topic)+"?producerName=dup", nil)
	want := `Failed to create producer/consumer: {"errorMsg":"org.apache.pulsar.broker.service.BrokerServiceException$NamingException: ` +
		`Producer with name 'dup' is already connected to topic '` + topic + `'","reqId":`
	if r.status != 409 || !hasPrefix(r.msg, want) {
		t.Fatalf("second producer: %d %q, want 409 %s…", r.status, r.msg, want)
	}
	// The client reports it as ErrBusy.
	e := newEnv(t, tg)
	_, err := e.client.NewProducer(e.ctx, topic, &stargate.ProducerOptions{Name: "dup"})
	if !errors.Is(err, stargate.ErrBusy) {
		t.Fatalf("NewProducer: %v, want ErrBusy", err)
	}
}

// testMessageIDPartitionOwnName: through one partition's own name (what
// PerPartition handles use), a producer's acks carry no partition index,
// but the messages a consumer gets there do.
func testMessageIDPartitionOwnName(t *testing.T, tg Target) {
	topic := tg.Topic(t)
	tg.CreatePartitionedTopic(t, topic, 2)
	c := dial(t, tg, consumerPath(topic+"-partition-1", "sub"))
	p := dial(t, tg, producerPath(topic+"-partition-1"))
	p.send(map[string]any{"payload": b64("m"), "context": "1"})
	a := p.next()
	if a["result"] != "ok" {
		t.Fatalf("ack %v", a)
	}
	if id := idOf(t, a); id.Partition != -1 {
		t.Errorf("ack id %#v: want no partition", id)
	}
	m := c.receive(1)[0]
	if id := idOf(t, m); id.Partition != 1 {
		t.Errorf("consumed id %#v: want partition 1", id)
	}
}
