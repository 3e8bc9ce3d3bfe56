package stargate

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSendFrameIsValidJSONAndSized(t *testing.T) {
	for _, m := range []Message{
		{},
		{Payload: []byte("hello"), Key: "k", Properties: map[string]string{"a": "b"}},
		{Payload: bytes.Repeat([]byte{0, 255}, 100), Key: "quote\" back\\ nl\n tab\t ctl\x01 ü \xff",
			Properties: map[string]string{"\x00": "\u2028", "": ""},
			EventTime:  time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.FixedZone("x", 3600)),
			DeliverAt:  time.UnixMilli(1_800_000_000_000), DeliverAfter: 1500 * time.Millisecond,
			ReplicationClusters: []string{"east", "west"}},
	} {
		b := appendSendFrame(nil, &m, 18446744073709551615)
		if n := sendFrameSize(&m); len(b) > n {
			t.Errorf("frame of %d bytes exceeds computed bound %d", len(b), n)
		}
		var got struct {
			Payload             []byte            `json:"payload"`
			Context             string            `json:"context"`
			Key                 string            `json:"key"`
			Properties          map[string]string `json:"properties"`
			EventTime           string            `json:"eventTime"`
			DeliverAt           int64             `json:"deliverAt"`
			DeliverAfterMs      int64             `json:"deliverAfterMs"`
			ReplicationClusters []string          `json:"replicationClusters"`
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("frame %s is not JSON: %v", b, err)
		}
		if !bytes.Equal(got.Payload, m.Payload) || got.Context != "18446744073709551615" {
			t.Errorf("payload/context lost in %s", b)
		}
		want := m.Key
		if want == "quote\" back\\ nl\n tab\t ctl\x01 ü \xff" {
			want = "quote\" back\\ nl\n tab\t ctl\x01 ü \ufffd"
		}
		if got.Key != want {
			t.Errorf("key %q, want %q", got.Key, want)
		}
		if diff := cmp.Diff(m.Properties, got.Properties); diff != "" && len(m.Properties) > 0 {
			t.Errorf("properties: %s", diff)
		}
		if !m.EventTime.IsZero() {
			et, err := time.Parse(time.RFC3339Nano, got.EventTime)
			if err != nil || !et.Equal(m.EventTime) {
				t.Errorf("event time %q: %v", got.EventTime, err)
			}
		}
		if !m.DeliverAt.IsZero() && got.DeliverAt != m.DeliverAt.UnixMilli() {
			t.Errorf("deliverAt %d", got.DeliverAt)
		}
		if m.DeliverAfter > 0 && got.DeliverAfterMs != 1500 {
			t.Errorf("deliverAfterMs %d", got.DeliverAfterMs)
		}
	}
}

func TestDecodeInbound(t *testing.T) {
	tp := Topic{Persistent: true, Tenant: "public", Namespace: "default", Name: "x"}
	m, eot, err := decodeInbound([]byte(`{"messageId":"CAcQADAA","payload":"aGVsbG8=","properties":{"a":"b"},"publishTime":"2024-06-01T12:00:00.25+01:00","redeliveryCount":2,"key":"k1","eventTime":"2024-06-01T11:00:00Z"}`), tp)
	if err != nil || eot != nil {
		t.Fatal(err, eot)
	}
	if string(m.Payload) != "hello" || m.Key != "k1" || m.Properties["a"] != "b" || m.RedeliveryCount != 2 ||
		m.ID.LedgerID != 7 || m.ID.String() != "CAcQADAA" || m.Topic != tp {
		t.Errorf("decoded %+v", m)
	}
	if want := time.Date(2024, 6, 1, 11, 0, 0, 250_000_000, time.UTC); !m.PublishTime.Equal(want) {
		t.Errorf("publish time %v, want %v", m.PublishTime, want)
	}
	m, _, err = decodeInbound([]byte(`{"messageId":"CAcQADAA","payload":"","properties":{},"publishTime":"2024-06-01T12:00:00Z","redeliveryCount":0}`), tp)
	if err != nil || m.Payload == nil || len(m.Payload) != 0 || m.Key != "" {
		t.Errorf("empty message: %+v %v", m, err)
	}
	_, eot, err = decodeInbound([]byte(`{"endOfTopic":true}`), tp)
	if err != nil || eot == nil || !*eot {
		t.Errorf("end of topic reply: %v %v", eot, err)
	}
	if _, _, err := decodeInbound([]byte(`{"type":"AUTH_CHALLENGE"}`), tp); err != errUnknownFrame {
		t.Errorf("unknown frame: %v", err)
	}
	for _, bad := range []string{`{`, `{"messageId":"!!"}`, `{"messageId":"CAcQADAA","payload":"%%%"}`, `{"messageId":"CAcQADAA","publishTime":"yesterday"}`} {
		if _, _, err := decodeInbound([]byte(bad), tp); err == nil {
			t.Errorf("decoded %s", bad)
		}
	}
}

func FuzzDecodeInbound(f *testing.F) {
	for _, s := range []string{
		`{"messageId":"CAcQADAA","payload":"aGVsbG8=","properties":{},"publishTime":"2024-06-01T12:00:00.25Z","redeliveryCount":0,"key":"k1"}`,
		`{"messageId":"CHsQLRgCIAMwCg==","payload":"","properties":{"a":"b"},"publishTime":"2026-11-28T02:10:00.1+01:00","redeliveryCount":3,"eventTime":"2026-11-28T10:00:00.123Z"}`,
		`{"endOfTopic":false}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, eot, err := decodeInbound(data, Topic{})
		if err != nil || eot != nil {
			return
		}
		if m.ID.String() == "" {
			t.Fatal("decoded a message without an ID")
		}
	})
}

func FuzzDecodeAck(f *testing.F) {
	f.Add([]byte(`{"result":"ok","messageId":"CAcQADAA","context":"17","errorCode":0,"schemaVersion":0}`))
	f.Add([]byte(`{"result":"send-error:8","errorMsg":"TimeoutException","context":"1","errorCode":0}`))
	f.Add([]byte(`{"result":"send-error:3","errorMsg":"bad"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ctxID, id, err, ok := decodeAck(data)
		if !ok {
			return
		}
		if err == nil && id.String() == "" {
			t.Fatalf("ack %d succeeded without an ID", ctxID)
		}
	})
}

func TestDecodeAck(t *testing.T) {
	ctxID, id, err, ok := decodeAck([]byte(`{"result":"ok","messageId":"CAcQADAA","context":"17","errorCode":0,"schemaVersion":0}`))
	if !ok || err != nil || ctxID != 17 || id.LedgerID != 7 {
		t.Errorf("ok ack: %d %#v %v %v", ctxID, id, err, ok)
	}
	ctxID, _, err, ok = decodeAck([]byte(`{"result":"send-error:8","errorMsg":"PulsarClientException$TimeoutException","context":"4"}`))
	se, isSend := err.(*SendError)
	if !ok || ctxID != 4 || !isSend || se.Code != 8 || !se.temporary() {
		t.Errorf("send-error:8: %d %v %v", ctxID, err, ok)
	}
	if _, _, _, ok := decodeAck([]byte(`{"result":"send-error:3","errorMsg":"x"}`)); ok {
		t.Error("an ack without context matched a send")
	}
}

// inboundCorpus are frames for the differential tests: what the proxy writes
// and the edges where the scanner must hand over to encoding/json.
var inboundCorpus = []string{
	`{"messageId":"CAcQADAA","payload":"aGVsbG8=","properties":{},"publishTime":"2024-06-01T12:00:00.25Z","redeliveryCount":0,"key":"k1"}`,
	`{"messageId":"CHsQLRgCIAMwCg==","payload":"","properties":{"a":"b"},"publishTime":"2026-11-28T02:10:00.1+01:00","redeliveryCount":3,"eventTime":"2026-11-28T10:00:00.123Z"}`,
	`{"messageId":"CLlAEKMXIAAwAA==","payload":"eHh4eA==","properties":{"trace":"abc","k":"v"},"publishTime":"2026-11-28T02:10:00.123456789Z","redeliveryCount":2,"key":"order-17","eventTime":"2026-11-28T02:09:59Z"}`,
	`{"endOfTopic":false}`, `{"endOfTopic":true}`, ` { "endOfTopic" : true } `,
	`{"type":"AUTH_CHALLENGE"}`, `{}`, `[]`, `{`, `{"messageId":"!!"}`, `{"messageId":"CAcQADAA","payload":"%%%"}`,
	`{"messageId":"CAcQADAA","publishTime":"yesterday"}`, `{"messageId":"CAcQADAA","publishTime":"2024-02-30T00:00:00Z"}`,
	`{"messageId":"CAcQADAA","publishTime":"2024-06-01T24:00:00Z"}`, `{"messageId":"CAcQADAA","publishTime":"2024-06-01T12:00:00.1234567890Z"}`,
	`{"MessageId":"CAcQADAA","payload":"aGk="}`, `{"messageid":"CAcQADAA"}`,
	`{"messageId":"CAcQADAA","payload":"aG\u0056sbG8="}`, `{"messageId":"CAcQ\/ADAA"}`, `{"messageId":"CAcQADAA","key":"k\"q"}`,
	`{"messageId":"CAcQADAA","key":"ü"}`, "{\"messageId\":\"CAcQADAA\",\"key\":\"\xff\"}",
	`{"messageId":"CAcQADAA","messageId":"CHsQLRgCIAMwCg=="}`, `{"messageId":"CAcQADAA","properties":{"a":"1","a":"2"}}`,
	`{"messageId":"CAcQADAA","properties":{"a":"1"},"properties":{"b":"2"}}`, `{"messageId":"CAcQADAA","properties":{"a":1}}`,
	`{"messageId":"CAcQADAA","properties":null}`, `{"messageId":"CAcQADAA","key":null}`, `{"messageId":null}`, `{"endOfTopic":null}`,
	`{"messageId":"CAcQADAA","payload":null}`, `{"messageId":"CAcQADAA","redeliveryCount":1.5}`, `{"messageId":"CAcQADAA","redeliveryCount":1e2}`,
	`{"messageId":"CAcQADAA","redeliveryCount":-0}`, `{"messageId":"CAcQADAA","redeliveryCount":99999999999999999999}`,
	`{"messageId":"CAcQADAA","redeliveryCount":01}`, `{"messageId":"CAcQADAA","redeliveryCount":"1"}`,
	`{"messageId":"CAcQADAA","x":{"y":[1,-2.5e+3,true,false,null,"s",{}]},"z":[]}`, `{"messageId":"CAcQADAA","x":[1,]}`,
	`{"messageId":"CAcQADAA"} x`, `{"messageId":"CAcQADAA"}` + "\n", `{"messageId":"CAcQADAA",}`, `{"messageId" "CAcQADAA"}`,
	`{"messageId":"CAcQADAA","payload":"aGVsbG8"}`, `{"messageId":"CAcQADAA","payload":"aGVsbG8=\n"}`, `{"messageId":"CAcQADA"}`,
	`{"messageId":"CAcQADAA","endOfTopic":true}`, `{"payload":"0"}`, `{"payload":"aGk="}`, `{"endOfTopic":true,"payload":"0"}`, `{"messageId":"CAcQADAA","endOfTopic":tru}`, "{\"messageId\":\"CAcQ\tADAA\"}",
}

// TestDecodeInboundDifferential holds the scanner to encoding/json on the
// corpus; FuzzDecodeInboundDifferential explores beyond it.
func TestDecodeInboundDifferential(t *testing.T) {
	for _, s := range inboundCorpus {
		checkInboundSame(t, []byte(s))
	}
}

func FuzzDecodeInboundDifferential(f *testing.F) {
	for _, s := range inboundCorpus {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkInboundSame(t, data) })
}

func checkInboundSame(t *testing.T, data []byte) {
	t.Helper()
	tp := Topic{Persistent: true, Tenant: "public", Namespace: "default", Name: "x"}
	m1, eot1, err1 := decodeInbound(data, tp)
	m2, eot2, err2 := decodeInboundJSON(data, tp)
	if (err1 == nil) != (err2 == nil) || errors.Is(err1, errUnknownFrame) != errors.Is(err2, errUnknownFrame) {
		t.Fatalf("%q: scanner err %v, encoding/json err %v", data, err1, err2)
	}
	if (eot1 == nil) != (eot2 == nil) || (eot1 != nil && *eot1 != *eot2) {
		t.Fatalf("%q: endOfTopic %v vs %v", data, eot1, eot2)
	}
	if diff := cmp.Diff(m2, m1, cmp.AllowUnexported(Message{}, MessageID{}), cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Fatalf("%q: scanner and encoding/json differ (-json +scanner):\n%s", data, diff)
	}
}

var ackCorpus = []string{
	`{"result":"ok","messageId":"CAcQADAA","context":"17","errorCode":0,"schemaVersion":0}`,
	`{"result":"send-error:8","errorMsg":"PulsarClientException$TimeoutException","context":"4","errorCode":0}`,
	`{"result":"send-error:3","errorMsg":"bad"}`, `{"result":"ok","messageId":"!!","context":"1"}`,
	`{"result":"ok","messageId":"CAcQADAA","context":"18446744073709551616"}`, `{"result":"ok","messageId":"CAcQADAA","context":"-1"}`,
	`{"result":"ok","messageId":"CAcQADAA","context":""}`, `{"result":"ok","messageId":"CAcQADAA","context":17}`,
	`{"Result":"ok","messageId":"CAcQADAA","context":"1"}`, `{"result":"ok","messageId":"CAcQADAA","context":"1","context":"2"}`,
	`{"result":"ok","messageId":"CAcQADA","context":"1"}`, `{"result":"send-error:2","errorMsg":"a\"b","context":"1"}`,
	`{"result":"ok","messageId":"CAcQADAA","context":"1"`, `{"result":"ok","messageId":"CAcQADAA","context":"1","x":{"y":[null]}}`,
	`{"result":"ok","messageId":"CAcQADAA","context":"0001"}`, `{"result":null,"context":"1"}`, `{}`, `x`,
}

func TestDecodeAckDifferential(t *testing.T) {
	for _, s := range ackCorpus {
		checkAckSame(t, []byte(s))
	}
}

func FuzzDecodeAckDifferential(f *testing.F) {
	for _, s := range ackCorpus {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkAckSame(t, data) })
}

func checkAckSame(t *testing.T, data []byte) {
	t.Helper()
	c1, id1, err1, ok1 := decodeAck(data)
	c2, id2, err2, ok2 := decodeAckJSON(data)
	if c1 != c2 || ok1 != ok2 || (err1 == nil) != (err2 == nil) || id1 != id2 {
		t.Fatalf("%q: scanner (%d %#v %v %v) vs encoding/json (%d %#v %v %v)", data, c1, id1, err1, ok1, c2, id2, err2, ok2)
	}
	if err1 != nil && err1.Error() != err2.Error() {
		t.Fatalf("%q: error %q vs %q", data, err1, err2)
	}
}

// TestFirstUnplain holds the eight-bytes-at-a-time check to the byte loop,
// for every position of every boundary byte within and across words.
func TestFirstUnplain(t *testing.T) {
	naive := func(s []byte) int {
		for i, c := range s {
			if c < 0x20 || c == '\\' || c >= 0x80 {
				return i
			}
		}
		return -1
	}
	for _, bad := range []byte{0x00, 0x01, 0x1f, 0x20, 0x21, '"', '[', '\\', ']', 0x7e, 0x7f, 0x80, 0x81, 0xc3, 0xff} {
		for n := 0; n <= 24; n++ {
			for pos := 0; pos < n; pos++ {
				for _, fill := range []byte{'A', 0x20, 0x7f, 0x21, '\\' + 1, '\\' - 1} {
					s := bytes.Repeat([]byte{fill}, n)
					s[pos] = bad
					if pos+1 < n {
						s[pos+1] = 0x00 // a second bad byte after the first
					}
					if got, want := firstUnplain(s), naive(s); got != want {
						t.Fatalf("%q: firstUnplain %d, want %d", s, got, want)
					}
				}
			}
		}
	}
}
