package stargatetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const prodPath = "/ws/v2/producer/persistent/public/default/"

func keys(m map[string]any) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	slices.Sort(k)
	return k
}

func TestProduceAckShape(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	p := dial(t, srv, prodPath+"ack-shape")

	ack := p.send("hello", "c1")
	if diff := cmp.Diff([]string{"context", "errorCode", "messageId", "result", "schemaVersion"}, keys(ack)); diff != "" {
		t.Fatalf("ack keys (-want +got):\n%s", diff)
	}
	if ack["result"] != "ok" || ack["context"] != "c1" || ack["errorCode"] != 0.0 || ack["schemaVersion"] != 0.0 {
		t.Fatalf("ack = %v", ack)
	}
	id := idOf(t, ack)
	if id.entry != 0 || id.partition != -1 || id.batchIndex != -1 || id.batchSize != 0 || id.ledger <= 0 {
		t.Fatalf("id = %+v", id)
	}
	if raw := ack["messageId"].(string); !strings.HasSuffix(decodeHex(t, raw), "3000") {
		t.Fatalf("batch_size field 6 must always be written: %s", decodeHex(t, raw))
	}
	if id2 := idOf(t, p.send("again", "c2")); id2.ledger != id.ledger || id2.entry != 1 {
		t.Fatalf("second id = %+v", id2)
	}

	p.sendJSON(map[string]any{"payload": b64("no context")})
	if ack := p.next(); ack["result"] != "ok" || ack["context"] != nil {
		t.Fatalf("ack without context = %v", ack)
	}

	msgs, err := srv.Messages("ack-shape")
	if err != nil || len(msgs) != 3 || string(msgs[0].Payload) != "hello" || msgs[0].ID != ack["messageId"] && msgs[0].ID == "" {
		t.Fatalf("Messages = %v, %v", msgs, err)
	}
}

func decodeHex(t *testing.T, s string) string {
	t.Helper()
	b, err := decodeJavaBase64(s)
	if err != nil {
		t.Fatal(err)
	}
	const digits = "0123456789abcdef"
	var sb strings.Builder
	for _, c := range b {
		sb.WriteByte(digits[c>>4])
		sb.WriteByte(digits[c&15])
	}
	return sb.String()
}

func TestProduceValidationErrors(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	p := dial(t, srv, prodPath+"errors")
	cases := []struct {
		name, frame, result string
		context             any
	}{
		{"bad base64", `{"payload":"***","context":"a"}`, "send-error:7", "a"},
		{"missing payload", `{"context":"b"}`, "send-error:7", "b"},
		{"epoch eventTime", `{"payload":"aGk=","eventTime":1714557600000,"context":"c"}`, "send-error:7", "c"},
		{"offset-less eventTime", `{"payload":"aGk=","eventTime":"2024-05-01T10:00:00","context":"d"}`, "send-error:7", "d"},
		{"bad JSON", `{"payload":`, "send-error:3", nil},
		{"array", `[{"payload":"aGk="}]`, "send-error:3", nil},
		{"unpadded payload", `{"payload":"aGk","context":"e"}`, "ok", "e"},
		{"numeric context", `{"payload":"aGk=","context":17}`, "ok", "17"},
		{"eventTime with offset", `{"payload":"aGk=","eventTime":"2024-05-01T10:00:00+01:00","context":"f"}`, "ok", "f"},
	}
	for _, tc := range cases {
		p.sendJSON(tc.frame)
		ack := p.next()
		if ack["result"] != tc.result || ack["context"] != tc.context {
			t.Errorf("%s: ack = %v", tc.name, ack)
		}
		if strings.HasPrefix(tc.result, "send-error") && (ack["messageId"] != nil || ack["errorMsg"] == nil) {
			t.Errorf("%s: error ack must have errorMsg and no messageId: %v", tc.name, ack)
		}
	}
}

func TestSendErrorInjection(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	p := dial(t, srv, prodPath+"inject")
	srv.FailNextSends(2, 8, "org.apache.pulsar.client.api.PulsarClientException$TimeoutException: boom")
	for _, ctx := range []string{"1", "2"} {
		ack := p.send("x", ctx)
		if ack["result"] != "send-error:8" || ack["context"] != ctx || !strings.Contains(ack["errorMsg"].(string), "boom") {
			t.Fatalf("ack = %v", ack)
		}
	}
	if ack := p.send("x", "3"); ack["result"] != "ok" {
		t.Fatalf("third ack = %v", ack)
	}
	if msgs, _ := srv.Messages("inject"); len(msgs) != 1 {
		t.Fatalf("stored %d messages, want 1", len(msgs))
	}
}

func TestDelayAndWithholdAcks(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	p := dial(t, srv, prodPath+"slow-acks")
	srv.DelayAcks(150 * time.Millisecond)
	start := time.Now()
	if ack := p.send("a", "1"); ack["result"] != "ok" || time.Since(start) < 150*time.Millisecond {
		t.Fatalf("delayed ack %v after %v", ack, time.Since(start))
	}
	srv.DelayAcks(0)
	srv.WithholdAcks(true)
	p.sendJSON(map[string]any{"payload": b64("b"), "context": "2"})
	p.expectNone(100 * time.Millisecond)
	if msgs, _ := srv.Messages("slow-acks"); len(msgs) != 2 {
		t.Fatalf("withheld message must still be stored, have %d", len(msgs))
	}
	srv.WithholdAcks(false)
	if ack := p.next(); ack["context"] != "2" {
		t.Fatalf("released ack = %v", ack)
	}
}

func TestProducerNameBusyAndTerminated(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	dial(t, srv, prodPath+"named?producerName=p1")
	if status, body := dialStatus(t, srv, prodPath+"named?producerName=p1", nil); status != 409 || !strings.Contains(body, "already connected") {
		t.Fatalf("got %d %s", status, body)
	}
	p := dial(t, srv, prodPath+"named")
	if err := srv.TerminateTopic("named"); err != nil {
		t.Fatal(err)
	}
	if ack := p.send("x", "9"); ack["result"] != "send-error:8" || ack["context"] != "9" {
		t.Fatalf("send after terminate: %v", ack)
	}
	if status, _ := dialStatus(t, srv, prodPath+"named", nil); status != 503 {
		t.Fatalf("producer on terminated topic: %d", status)
	}
}

func TestBatchingIDs(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	p := dial(t, srv, prodPath+"batched?batchingEnabled=true&batchingMaxPublishDelay=200&batchingMaxMessages=3")
	for i := range 4 {
		p.sendJSON(map[string]any{"payload": b64("m"), "context": itoa(i)})
	}
	var ids []messageID
	for range 4 {
		ids = append(ids, idOf(t, p.next()))
	}
	for i, id := range ids[:3] {
		// Acks carry the batch index but batch_size 0, like Pulsar 4.0.8.
		if id.entry != ids[0].entry || id.batchIndex != int32(i) || id.batchSize != 0 {
			t.Fatalf("batched id %d = %+v", i, id)
		}
	}
	// The fourth message flushes alone after the delay: a batch of one is a
	// plain message.
	if id := ids[3]; id.entry != ids[0].entry+1 || id.batchIndex != -1 || id.batchSize != 0 {
		t.Fatalf("fourth id = %+v", id)
	}
}

func TestPartitionedProducerIDs(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	if err := srv.CreatePartitionedTopic("parts", 3); err != nil {
		t.Fatal(err)
	}
	p := dial(t, srv, prodPath+"parts")
	for _, key := range []string{"alpha", "beta", "gamma", "delta"} {
		p.sendJSON(map[string]any{"payload": b64(key), "key": key, "context": key})
		id := idOf(t, p.next())
		if want := javaStringHash(key) % 3; id.partition != want {
			t.Errorf("key %q went to partition %d, want %d", key, id.partition, want)
		}
	}
	// Key-less messages stick to one partition (SinglePartition).
	first := idOf(t, p.send("a", "n1")).partition
	for i := range 5 {
		if got := idOf(t, p.send("b", itoa(i))).partition; got != first {
			t.Fatalf("key-less partition changed: %d then %d", first, got)
		}
	}
	rr := dial(t, srv, prodPath+"parts?messageRoutingMode=RoundRobinPartition")
	seen := map[int32]bool{}
	for i := range 3 {
		seen[idOf(t, rr.send("r", itoa(i))).partition] = true
	}
	if len(seen) != 3 {
		t.Fatalf("round robin used partitions %v", seen)
	}
}

func TestJavaStringHash(t *testing.T) {
	// Values of Java's "…".hashCode() & Integer.MAX_VALUE.
	for s, want := range map[string]int32{"": 0, "a": 97, "hello": 99162322, "key-1": 101943000 & 0x7fffffff} {
		if s == "key-1" {
			want = javaHashRef(s)
		}
		if got := javaStringHash(s); got != want {
			t.Errorf("javaStringHash(%q) = %d, want %d", s, got, want)
		}
	}
}

// javaHashRef is the textbook definition over ASCII.
func javaHashRef(s string) int32 {
	var h int32
	for i := 0; i < len(s); i++ {
		h = 31*h + int32(s[i])
	}
	return h & 0x7fffffff
}

func TestMurmur3Hash(t *testing.T) {
	// Reference values of murmur3_x86_32 with seed 0.
	for s, want := range map[string]uint32{"": 0, "hello": 0x248bfa47, "The quick brown fox jumps over the lazy dog": 0x2e4ff723} {
		if got := murmur3Hash(s); got != int32(want&0x7fffffff) {
			t.Errorf("murmur3Hash(%q) = %#x, want %#x", s, got, want&0x7fffffff)
		}
	}
}
