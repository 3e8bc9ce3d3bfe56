package admin

import (
	"encoding/binary"
	"maps"
	"net/http"
	"testing"
	"time"
)

// pbString appends a length-delimited protobuf field.
func pbString(b []byte, field int, s string) []byte {
	b = binary.AppendUvarint(b, uint64(field<<3|2))
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func pbVarint(b []byte, field int, v uint64) []byte {
	return binary.AppendUvarint(binary.AppendUvarint(b, uint64(field<<3)), v)
}

// batchMessage encodes one message of a batch body.
func batchMessage(key string, props map[string]string, eventMillis uint64, payload string, keyB64 bool) []byte {
	var meta []byte
	for k, v := range props {
		meta = pbString(meta, 1, string(pbString(pbString(nil, 1, k), 2, v)))
	}
	meta = pbString(meta, 2, key)
	meta = pbVarint(meta, 3, uint64(len(payload)))
	meta = binary.BigEndian.AppendUint64(binary.AppendUvarint(meta, 4<<3|1), 7) // a fixed64 field to skip
	if eventMillis > 0 {
		meta = pbVarint(meta, 5, eventMillis)
	}
	if keyB64 {
		meta = pbVarint(meta, 6, 1)
	}
	meta = pbVarint(meta, 8, 42) // sequence_id, ignored
	b := binary.BigEndian.AppendUint32(nil, uint32(len(meta)))
	return append(append(b, meta...), payload...)
}

func TestDecodeBatch(t *testing.T) {
	ref, err := parseTopic("persistent://t/ns/x-partition-3")
	if err != nil {
		t.Fatal(err)
	}
	body := batchMessage("k é", map[string]string{"a": "é", "B c": "中"}, 1_700_000_000_123, "one", false)
	body = append(body, batchMessage("aGk=", nil, 0, "", true)...)
	h := http.Header{}
	h.Set("X-Pulsar-Message-ID", "12:34")
	h.Set("X-Pulsar-publish-time", "2026-12-03T10:54:47.831Z")
	h.Set("X-Pulsar-num-batch-message", "2")
	h.Set("X-Pulsar-partition-key", "ignored for batches")
	msgs, err := decodeEntry(ref, -1, &response{Header: h, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	if string(m.Payload) != "one" || m.Key != "k é" || !maps.Equal(m.Properties, map[string]string{"a": "é", "B c": "中"}) ||
		!m.EventTime.Equal(time.UnixMilli(1_700_000_000_123)) || m.PublishTime.UnixMilli() != time.Date(2026, 12, 3, 10, 54, 47, 831e6, time.UTC).UnixMilli() {
		t.Errorf("first message %+v", m)
	}
	if id := m.ID; id.LedgerID != 12 || id.EntryID != 34 || id.Partition != 3 || id.BatchIndex != 0 || id.BatchSize != 2 {
		t.Errorf("first ID %#v (size %d)", id, id.BatchSize)
	}
	if m := msgs[1]; m.Key != "hi" || len(m.Payload) != 0 || m.Properties != nil || !m.EventTime.IsZero() || m.ID.BatchIndex != 1 {
		t.Errorf("second message %+v", m)
	}
	for cut := 1; cut < len(body); cut += 3 {
		if _, err := decodeEntry(ref, -1, &response{Header: h, Body: body[:cut]}); err == nil {
			t.Errorf("a batch cut at %d bytes decoded", cut)
		}
	}
}

func TestDecodeSingle(t *testing.T) {
	ref, _ := parseTopic("t/ns/x")
	h := http.Header{}
	h.Set("X-Pulsar-Message-ID", "5:6")
	h.Set("X-Pulsar-publish-time", "2026-12-03T10:54:47.831Z")
	h.Set("X-Pulsar-event-time", "2023-11-14T22:13:20.123Z")
	h.Set("X-Pulsar-partition-key", "k \xe9+1") // ISO-8859-1, as Jetty writes it
	h.Set("X-Pulsar-PROPERTY", "{\"myKey\":\"v \xe9\",\"Other Key\":\"x\"}")
	msgs, err := decodeEntry(ref, -1, &response{Header: h, Body: []byte("hello")})
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if len(msgs) != 1 || string(m.Payload) != "hello" || m.Key != "k é+1" ||
		!maps.Equal(m.Properties, map[string]string{"myKey": "v é", "Other Key": "x"}) ||
		m.EventTime.UnixMilli() != 1_700_000_000_123 || m.ID.Partition != -1 || m.ID.BatchIndex != -1 || m.ID.EntryID != 6 {
		t.Errorf("message %+v", m)
	}
	h.Set("X-Pulsar-partition-key", "aGk=")
	h.Set("X-Pulsar-partition-key-b64-encoded", "true")
	if msgs, err := decodeEntry(ref, 2, &response{Header: h}); err != nil || msgs[0].Key != "hi" || msgs[0].ID.Partition != 2 {
		t.Errorf("base64 key: %+v, %v", msgs, err)
	}
	for _, bad := range []string{"", "5", "x:1"} {
		h.Set("X-Pulsar-Message-ID", bad)
		if _, err := decodeEntry(ref, -1, &response{Header: h}); err == nil {
			t.Errorf("message ID %q decoded", bad)
		}
	}
}
