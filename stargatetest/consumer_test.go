package stargatetest

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lxzan/gws"
)

const consPath = "/ws/v2/consumer/persistent/public/default/"

func TestConsumerMessageShape(t *testing.T) {
	t.Parallel()
	utc := func() time.Time { return time.Date(2024, 6, 1, 12, 0, 0, 250_000_000, time.UTC) }
	srv := New(t, &Options{Now: utc})
	c := dial(t, srv, consPath+"shape/sub?subscriptionInitialPosition=Earliest")
	if _, err := srv.Publish("shape", Message{Payload: []byte("hello")}); err != nil {
		t.Fatal(err)
	}
	m := c.next()
	want := map[string]any{"messageId": m["messageId"], "payload": "aGVsbG8=", "properties": map[string]any{},
		"publishTime": "2024-06-01T12:00:00.25Z", "redeliveryCount": 0.0}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Fatalf("message (-want +got):\n%s", diff)
	}
	p := dial(t, srv, prodPath+"shape")
	p.sendJSON(map[string]any{"payload": "", "key": "k1", "properties": map[string]string{"a": "b"},
		"eventTime": "2024-05-01T10:00:00.5+02:00"})
	p.next()
	m = c.next()
	want = map[string]any{"messageId": m["messageId"], "payload": "", "properties": map[string]any{"a": "b"},
		"publishTime": "2024-06-01T12:00:00.25Z", "redeliveryCount": 0.0, "key": "k1",
		"eventTime": "2024-05-01T08:00:00.5Z"}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Fatalf("message (-want +got):\n%s", diff)
	}
}

func TestPushWindow(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	c := dial(t, srv, consPath+"window/sub?receiverQueueSize=2")
	publishN(t, srv, "window", 6)
	got := c.receive(2)
	c.expectNone(100 * time.Millisecond) // window of 2 is full
	c.ack(got[0])
	got = append(got, c.receive(1)...)
	c.expectNone(50 * time.Millisecond)
	// A nack frees a slot too, and so does a bogus ack of an unknown id.
	c.sendJSON(map[string]any{"type": "negativeAcknowledge", "messageId": got[1]["messageId"]})
	got = append(got, c.receive(1)...)
	c.sendJSON(map[string]any{"messageId": messageID{ledger: 999, entry: 5, partition: -1, batchIndex: -1}.encode()})
	got = append(got, c.receive(1)...)
	if s := payloads(t, got); s != "p0,p1,p2,p3,p4" {
		t.Fatalf("payloads %s", s)
	}
}

func TestPushWindowZeroQueue(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	c := dial(t, srv, consPath+"window0/sub?receiverQueueSize=0")
	publishN(t, srv, "window0", 3)
	m := c.receive(1)
	c.expectNone(50 * time.Millisecond) // receiverQueueSize 0 → window 1
	c.ack(m[0])
	c.receive(1)
}

func TestPullModePermits(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	c := dial(t, srv, consPath+"pull/sub?pullMode=true")
	publishN(t, srv, "pull", 20)
	c.expectNone(100 * time.Millisecond)
	c.sendJSON(map[string]any{"type": "permit", "permitMessages": 3})
	got := c.receive(3)
	c.expectNone(100 * time.Millisecond)
	// Acks don't open anything in pull mode.
	for _, m := range got {
		c.ack(m)
	}
	c.expectNone(50 * time.Millisecond)
	// Permits accumulate.
	c.sendJSON(map[string]any{"type": "permit", "permitMessages": 2})
	c.sendJSON(map[string]any{"type": "permit", "permitMessages": 2})
	c.receive(4)
	c.expectNone(100 * time.Millisecond)
	// §5.2 quirk: permit 0 while idle still delivers one, which the next
	// permit pays back.
	c.sendJSON(map[string]any{"type": "permit", "permitMessages": 0})
	c.receive(1)
	c.expectNone(50 * time.Millisecond)
	c.sendJSON(map[string]any{"type": "permit", "permitMessages": 2})
	c.receive(1)
	c.expectNone(100 * time.Millisecond)
}

func TestNackRedelivery(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	for _, typ := range []string{"Shared", "Exclusive"} {
		c := dial(t, srv, consPath+"nack/"+typ+"?subscriptionType="+typ+"&negativeAckRedeliveryDelay=10")
		publishN(t, srv, "nack", 1)
		m := c.receive(1)[0]
		c.sendJSON(map[string]any{"type": "negativeAcknowledge", "messageId": m["messageId"]})
		again := c.receive(1)[0]
		if again["messageId"] != m["messageId"] {
			t.Fatalf("%s: redelivered %v, want %v", typ, again["messageId"], m["messageId"])
		}
		// Only Shared/Key_Shared subscriptions count redeliveries; single
		// active consumer dispatchers use RedeliveryTrackerDisabled.
		want := map[string]float64{"Shared": 1, "Exclusive": 0}[typ]
		if again["redeliveryCount"] != want {
			t.Fatalf("%s: redeliveryCount = %v, want %v", typ, again["redeliveryCount"], want)
		}
		c.ack(again)
		c.close()
	}
}

func TestAckTimeoutRedelivery(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	c := dial(t, srv, consPath+"ackto/sub?subscriptionType=Shared&ackTimeoutMillis=1000")
	publishN(t, srv, "ackto", 1)
	start := time.Now()
	m := c.receive(1)[0]
	again := c.receive(1)[0]
	if again["messageId"] != m["messageId"] || again["redeliveryCount"] != 1.0 || time.Since(start) < time.Second {
		t.Fatalf("redelivered %v after %v", again, time.Since(start))
	}
}

func TestDeadLetterTopic(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	c := dial(t, srv, consPath+"dlq/sub?subscriptionType=Shared&maxRedeliverCount=2&negativeAckRedeliveryDelay=0")
	publishN(t, srv, "dlq", 1)
	var first string
	for i := range 3 {
		want := float64(i)
		m := c.receive(1)[0]
		if m["redeliveryCount"] != want {
			t.Fatalf("delivery %v: redeliveryCount %v", want, m["redeliveryCount"])
		}
		first = m["messageId"].(string)
		c.sendJSON(map[string]any{"type": "negativeAcknowledge", "messageId": m["messageId"]})
	}
	c.expectNone(150 * time.Millisecond)
	dead, err := srv.Messages("persistent://public/default/dlq-sub-DLQ")
	if err != nil || len(dead) != 1 {
		t.Fatalf("DLQ = %v, %v", dead, err)
	}
	id, _ := decodeMessageID(first)
	if string(dead[0].Payload) != "p0" || dead[0].Properties["REAL_TOPIC"] != "persistent://public/default/dlq" ||
		dead[0].Properties["ORIGIN_MESSAGE_ID"] != id.String() {
		t.Fatalf("DLQ message %+v", dead[0])
	}
	st, _ := srv.Stats("dlq")
	if st.Subscriptions["sub"].MsgBacklog != 0 {
		t.Fatalf("dead-lettered message still in backlog: %+v", st)
	}
}

func TestExclusiveBusy(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	first := dial(t, srv, consPath+"excl/sub")
	status, body := dialStatus(t, srv, consPath+"excl/sub", nil)
	if status != 409 || !strings.Contains(body, "Exclusive consumer is already connected") {
		t.Fatalf("got %d %s", status, body)
	}
	if status, _ := dialStatus(t, srv, consPath+"excl/sub?subscriptionType=Shared", nil); status != 409 {
		t.Fatalf("different type: %d", status)
	}
	first.close()
	waitConsumers(t, srv, "excl", "sub", 0)
	dial(t, srv, consPath+"excl/sub")
}

// waitConsumers waits until the subscription has n consumers (socket
// cleanup is asynchronous).
func waitConsumers(t *testing.T, srv *Server, topic, sub string, n int) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		st, err := srv.Stats(topic)
		if err == nil && st.Subscriptions[sub].Consumers == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscription %s has %+v, want %d consumers", sub, st.Subscriptions[sub], n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSharedSpread(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	a := dial(t, srv, consPath+"shared/sub?subscriptionType=Shared")
	b := dial(t, srv, consPath+"shared/sub?subscriptionType=Shared")
	waitConsumers(t, srv, "shared", "sub", 2)
	publishN(t, srv, "shared", 10)
	ga, gb := a.receive(5), b.receive(5)
	all := strings.Split(payloads(t, ga)+","+payloads(t, gb), ",")
	slices.Sort(all)
	if len(slices.Compact(all)) != 10 {
		t.Fatalf("a=%s b=%s", payloads(t, ga), payloads(t, gb))
	}
}

func TestKeySharedSticky(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	a := dial(t, srv, consPath+"ks/sub?subscriptionType=Key_Shared")
	b := dial(t, srv, consPath+"ks/sub?subscriptionType=Key_Shared")
	waitConsumers(t, srv, "ks", "sub", 2)
	for i := range 24 {
		if _, err := srv.Publish("ks", Message{Payload: []byte("x"), Key: "k" + itoa(i%4)}); err != nil {
			t.Fatal(err)
		}
	}
	owner := map[string]string{}
	count := map[string]int{}
	collect := func(name string, c *wsClient) {
		for {
			select {
			case raw := <-c.frames:
				_ = raw
				m := decodeObject(t, raw)
				k := m["key"].(string)
				if o, ok := owner[k]; ok && o != name {
					t.Fatalf("key %s on %s and %s", k, o, name)
				}
				owner[k] = name
				count[name]++
			case <-time.After(200 * time.Millisecond):
				return
			}
		}
	}
	collect("a", a)
	collect("b", b)
	if count["a"]+count["b"] != 24 || count["a"] == 0 || count["b"] == 0 {
		t.Fatalf("counts %v owners %v", count, owner)
	}
}

func TestFailover(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	a := dial(t, srv, consPath+"fo/sub?subscriptionType=Failover")
	waitConsumers(t, srv, "fo", "sub", 1)
	b := dial(t, srv, consPath+"fo/sub?subscriptionType=Failover&priorityLevel=1")
	waitConsumers(t, srv, "fo", "sub", 2)
	publishN(t, srv, "fo", 3)
	got := a.receive(3)
	b.expectNone(100 * time.Millisecond)
	a.ack(got[0])
	time.Sleep(20 * time.Millisecond)
	a.close()
	// The unacked messages move to the new active consumer.
	if s := payloads(t, b.receive(2)); s != "p1,p2" {
		t.Fatalf("failover got %s", s)
	}
}

func TestDurableAndNonDurable(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	c := dial(t, srv, consPath+"durable/sub?subscriptionInitialPosition=Earliest")
	publishN(t, srv, "durable", 3)
	got := c.receive(3)
	c.ack(got[0])
	c.ack(got[2])
	time.Sleep(20 * time.Millisecond)
	c.close()
	waitConsumers(t, srv, "durable", "sub", 0)
	c = dial(t, srv, consPath+"durable/sub")
	if m := c.receive(1)[0]; payloadOf(t, m) != "p1" || m["redeliveryCount"] != 0.0 {
		t.Fatalf("after reconnect: %v", m)
	}

	nd := dial(t, srv, consPath+"durable/nd?subscriptionMode=NonDurable")
	waitConsumers(t, srv, "durable", "nd", 1)
	nd.close()
	deadline := time.Now().Add(waitFor)
	for {
		st, _ := srv.Stats("durable")
		if _, ok := st.Subscriptions["nd"]; !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("non-durable subscription survived its consumer")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestInitialLatest(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	publishN(t, srv, "latest", 2)
	c := dial(t, srv, consPath+"latest/sub")
	c.expectNone(50 * time.Millisecond)
	publishN(t, srv, "latest", 1)
	if s := payloads(t, c.receive(1)); s != "p0" {
		t.Fatalf("got %s", s)
	}
}

func TestEndOfTopic(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	c := dial(t, srv, consPath+"eot/sub?pullMode=true&subscriptionInitialPosition=Earliest")
	publishN(t, srv, "eot", 2)
	if c.endOfTopic() {
		t.Fatal("end of topic before termination")
	}
	if err := srv.TerminateTopic("eot"); err != nil {
		t.Fatal(err)
	}
	if c.endOfTopic() {
		t.Fatal("end of topic with unread messages")
	}
	c.sendJSON(map[string]any{"type": "permit", "permitMessages": 2})
	ms := c.receive(2)
	if c.endOfTopic() {
		t.Fatal("end of topic with unacknowledged messages")
	}
	c.ack(ms[0])
	c.ack(ms[1])
	if !c.endOfTopic() {
		t.Fatal("no end of topic after acknowledging everything")
	}
}

func TestUnsubscribe(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	c := dial(t, srv, consPath+"unsub/sub")
	waitConsumers(t, srv, "unsub", "sub", 1)
	c.sendJSON(map[string]any{"type": "unsubscribe"})
	c.endOfTopic() // the socket stays open and still answers
	if st, _ := srv.Stats("unsub"); len(st.Subscriptions) != 0 {
		t.Fatalf("subscription survived: %+v", st)
	}

	a := dial(t, srv, consPath+"unsub/shared?subscriptionType=Shared")
	dial(t, srv, consPath+"unsub/shared?subscriptionType=Shared")
	waitConsumers(t, srv, "unsub", "shared", 2)
	a.sendJSON(map[string]any{"type": "unsubscribe"})
	a.waitClosed() // unsubscribe fails with other consumers; the session is closed
	waitConsumers(t, srv, "unsub", "shared", 1)
}

func TestBadCommandsCloseSession(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	// Unchecked exceptions close with 1011 and their message; the
	// handler's WebSocketError closes drop the connection (Pulsar 4.0.8).
	for i, f := range []struct {
		frame  string
		code   int
		reason string
	}{
		{`{"type":"ack"}`, closeServerError, npeNoID},
		{`{"messageId":"***"}`, closeServerError, "Illegal base64 character 2a"},
		{`{"messageId":"aGVsbG8="}`, -1, ""},
		{`not json`, -1, ""},
		{`{"type":"permit"}`, -1, ""},
	} {
		c := dial(t, srv, consPath+"badcmd/s"+itoa(i))
		c.sendJSON(f.frame)
		err := c.waitClosed()
		var ce *gws.CloseError
		if code := closeCode(err); code != f.code || code > 0 && (!errors.As(err, &ce) || string(ce.Reason) != f.reason) {
			t.Errorf("%s: close %v, want code %d %q", f.frame, err, f.code, f.reason)
		}
	}
}

func TestDelayedDelivery(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	shared := dial(t, srv, consPath+"delayed/shared?subscriptionType=Shared")
	excl := dial(t, srv, consPath+"delayed/excl")
	waitConsumers(t, srv, "delayed", "shared", 1)
	waitConsumers(t, srv, "delayed", "excl", 1)
	p := dial(t, srv, prodPath+"delayed")
	start := time.Now()
	p.sendJSON(map[string]any{"payload": b64("later"), "deliverAfterMs": 300})
	p.next()
	excl.receive(1) // deliverAt is ignored on Exclusive subscriptions
	shared.expectNone(150 * time.Millisecond)
	shared.receive(1)
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("delivered after %v", d)
	}
}

func TestPartitionedConsumer(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	if err := srv.CreatePartitionedTopic("pc", 2); err != nil {
		t.Fatal(err)
	}
	c := dial(t, srv, consPath+"pc/sub?subscriptionType=Shared")
	direct := dial(t, srv, consPath+"pc-partition-1/direct")
	waitConsumers(t, srv, "pc", "sub", 1)
	waitConsumers(t, srv, "pc-partition-1", "direct", 1)
	for _, k := range []string{"a", "b", "c", "d"} {
		if _, err := srv.Publish("pc", Message{Payload: []byte(k), Key: k}); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range c.receive(4) {
		k := m["key"].(string)
		if id := idOf(t, m); id.partition != javaStringHash(k)%2 {
			t.Errorf("key %s: id %+v", k, id)
		}
		c.ack(m)
	}
	// Through the partition's own name the id carries the partition too
	// (Pulsar 4.0.8 does; its producer's acks there do not).
	if id := idOf(t, direct.receive(1)[0]); id.partition != 1 {
		t.Errorf("direct id %+v", id)
	}
	waitBacklog(t, srv, "pc", "sub", 0)
	if st, _ := srv.Stats("pc"); st.MsgIn != 4 {
		t.Fatalf("stats %+v", st)
	}
}

func TestV3Consumer(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	for _, n := range []string{"v3a", "v3b", "orders-1", "orders-2", "other"} {
		if err := srv.CreateTopic(n); err != nil {
			t.Fatal(err)
		}
	}
	list := dial(t, srv, "/ws/v3/consumer/s1?topics=v3a,public/default/v3b&subscriptionType=Shared")
	pat := dial(t, srv, "/ws/v3/consumer/s2?topicsPattern=public/default/orders-.*")
	waitConsumers(t, srv, "v3b", "s1", 1)
	waitConsumers(t, srv, "orders-2", "s2", 1)
	if err := srv.CreateTopic("orders-3"); err != nil { // discovered after subscribing
		t.Fatal(err)
	}
	for _, n := range []string{"v3a", "v3b", "orders-1", "orders-3", "other"} {
		if _, err := srv.Publish(n, Message{Payload: []byte(n)}); err != nil {
			t.Fatal(err)
		}
	}
	got := strings.Split(payloads(t, list.receive(2)), ",")
	slices.Sort(got)
	if !slices.Equal(got, []string{"v3a", "v3b"}) {
		t.Fatalf("topics consumer got %v", got)
	}
	ms := pat.receive(2)
	got = strings.Split(payloads(t, ms), ",")
	slices.Sort(got)
	if !slices.Equal(got, []string{"orders-1", "orders-3"}) {
		t.Fatalf("pattern consumer got %v", got)
	}
	if _, ok := ms[0]["topic"]; ok {
		t.Fatal("v3 messages carry no topic")
	}
	pat.expectNone(50 * time.Millisecond)
	for _, m := range ms {
		pat.ack(m)
	}
	waitBacklog(t, srv, "orders-1", "s2", 0)
}

func waitBacklog(t *testing.T, srv *Server, topic, sub string, n int64) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		st, _ := srv.Stats(topic)
		if st.Subscriptions[sub].MsgBacklog == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("backlog %+v, want %d", st.Subscriptions[sub], n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var hexRe = regexp.MustCompile(`^[0-9a-f]{10}$`)

func TestReader(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	readerPath := "/ws/v2/reader/persistent/public/default/rd"
	publishN(t, srv, "rd", 3)
	msgs, _ := srv.Messages("rd")

	early := dial(t, srv, readerPath+"?messageId=earliest")
	if s := payloads(t, early.receive(3)); s != "p0,p1,p2" {
		t.Fatalf("earliest got %s", s)
	}
	from := dial(t, srv, readerPath+"?messageId="+urlQueryEscape(msgs[0].ID))
	if s := payloads(t, from.receive(2)); s != "p1,p2" {
		t.Fatalf("from p0 (exclusive) got %s", s)
	}
	late := dial(t, srv, readerPath)
	late.expectNone(50 * time.Millisecond)
	publishN(t, srv, "rd", 1)
	if s := payloads(t, late.receive(1)); s != "p0" {
		t.Fatalf("latest got %s", s)
	}
	st, _ := srv.Stats("rd")
	for name, sub := range st.Subscriptions {
		if !strings.HasPrefix(name, "reader-") || !hexRe.MatchString(strings.TrimPrefix(name, "reader-")) || sub.Durable {
			t.Errorf("reader subscription %s %+v", name, sub)
		}
	}

	// Window of 1: any non-isEndOfTopic frame frees the slot.
	w := dial(t, srv, readerPath+"?messageId=earliest&receiverQueueSize=1")
	w.receive(1)
	w.expectNone(50 * time.Millisecond)
	if w.endOfTopic() {
		t.Fatal("end of topic on a live topic")
	}
	w.expectNone(50 * time.Millisecond) // isEndOfTopic frees nothing
	w.sendJSON(`{"anything":1}`)
	w.receive(1)
}

func TestDropConnections(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	c := dial(t, srv, consPath+"drop/sub")
	other := dial(t, srv, consPath+"drop-other/sub")
	publishN(t, srv, "drop", 1)
	m := c.receive(1)[0]
	if n := srv.DropConnections("drop"); n != 1 {
		t.Fatalf("dropped %d", n)
	}
	if err := c.waitClosed(); closeCode(err) != -1 {
		t.Fatalf("want an abrupt close, got %v", err)
	}
	other.endOfTopic() // untouched
	waitConsumers(t, srv, "drop", "sub", 0)
	c = dial(t, srv, consPath+"drop/sub")
	if again := c.receive(1)[0]; again["messageId"] != m["messageId"] {
		t.Fatalf("redelivered %v", again)
	}
}

func TestCommandKeysAreCaseSensitive(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	c := dial(t, srv, consPath+"case/sub?pullMode=true")
	// Jackson ignores "Type", so this is an ack without messageId.
	c.sendJSON(`{"Type":"permit","permitMessages":1}`)
	if code := closeCode(c.waitClosed()); code != closeServerError {
		t.Fatalf("close code %d", code)
	}
}

func TestFailoverHashRing(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	// Which of c-0, c-1, c-2 is active on a non-partitioned topic depends
	// on the topic name's place on the consumers' hash ring, not on the
	// connection order (values checked against Pulsar 4.0.8).
	for topic, want := range map[string]string{"fo-ring-1": "", "fo-ring-2": "", "fo-ring-3": ""} {
		cs := []*consumer{{name: "c-0"}, {name: "c-1"}, {name: "c-2"}}
		want = cs[hashRingPick("persistent://public/default/"+topic, cs)].name
		var ws []*wsClient
		for _, n := range []string{"c-2", "c-1", "c-0"} {
			ws = append(ws, dial(t, srv, consPath+topic+"/sub?subscriptionType=Failover&consumerName="+n))
		}
		waitConsumers(t, srv, topic, "sub", 3)
		publishN(t, srv, topic, 1)
		for i, n := range []string{"c-2", "c-1", "c-0"} {
			if n == want {
				ws[i].receive(1)
			} else {
				ws[i].expectNone(50 * time.Millisecond)
			}
		}
	}
}
