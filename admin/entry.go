package admin

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stargate-go/stargate"
)

// An entry, as the broker's peek and get-message calls answer it: the
// payload is the body (decompressed by the broker) and the metadata is in
// X-Pulsar-* headers. A batch (X-Pulsar-num-batch-message) is a body of
// [4-byte big-endian size][SingleMessageMetadata protobuf][payload] per
// message; the per-message key, properties and event time are in the
// protobuf, the rest in the headers.

var errBadEntry = errors.New("malformed batch entry")

// decodeEntry turns one answer into its messages. partition is the
// partition the caller knows of, or -1 to take it from t's name.
func decodeEntry(t topicRef, partition int32, resp *response) ([]stargate.Message, error) {
	h := resp.Header
	id, err := entryID(h.Get("X-Pulsar-Message-ID"))
	if err != nil {
		return nil, err
	}
	id.Partition = partition
	if p := t.partition(); p >= 0 {
		id.Partition = p
	}
	base := stargate.Message{ID: id, Topic: t.topic}
	base.PublishTime, err = headerTime(h, "X-Pulsar-publish-time")
	if err != nil {
		return nil, err
	}
	nb := h.Get("X-Pulsar-num-batch-message")
	if nb == "" || h.Get("X-Pulsar-Is-Encrypted") == "true" {
		m := base
		m.Payload = resp.Body
		if err := headerMetadata(h, &m); err != nil {
			return nil, err
		}
		return []stargate.Message{m}, nil
	}
	n, err := strconv.Atoi(nb)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("bad X-Pulsar-num-batch-message %q", nb)
	}
	return decodeBatch(base, n, resp.Body)
}

// entryID parses "ledger:entry" (later fields, if any, are ignored).
func entryID(s string) (stargate.MessageID, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 {
		return stargate.MessageID{}, fmt.Errorf("bad X-Pulsar-Message-ID %q", s)
	}
	l, err1 := strconv.ParseInt(parts[0], 10, 64)
	e, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil {
		return stargate.MessageID{}, fmt.Errorf("bad X-Pulsar-Message-ID %q", s)
	}
	return stargate.MessageID{LedgerID: l, EntryID: e, Partition: -1, BatchIndex: -1}, nil
}

func headerTime(h http.Header, name string) (time.Time, error) {
	s := h.Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad %s %q", name, s)
	}
	return t, nil
}

// headerMetadata fills the key, properties and event time of a message
// sent outside a batch from the headers.
func headerMetadata(h http.Header, m *stargate.Message) error {
	var err error
	if m.EventTime, err = headerTime(h, "X-Pulsar-event-time"); err != nil {
		return err
	}
	if k := h.Values("X-Pulsar-partition-key"); len(k) > 0 {
		m.Key = latin1(k[0])
		if h.Get("X-Pulsar-partition-key-b64-encoded") == "true" {
			b, err := base64.StdEncoding.DecodeString(k[0])
			if err != nil {
				return fmt.Errorf("bad base64 X-Pulsar-partition-key")
			}
			m.Key = string(b)
		}
	}
	if p := h.Get("X-Pulsar-PROPERTY"); p != "" {
		var props map[string]string
		if err := json.Unmarshal([]byte(latin1(p)), &props); err != nil {
			return fmt.Errorf("bad X-Pulsar-PROPERTY: %w", err)
		}
		if len(props) > 0 {
			m.Properties = props
		}
	}
	return nil
}

// latin1 decodes a header value the server wrote in ISO-8859-1 (Jetty's
// encoding). A value that is already valid UTF-8 is kept as it is.
func latin1(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	r := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		r[i] = rune(s[i])
	}
	return string(r)
}

// decodeBatch splits a batch of n messages.
func decodeBatch(base stargate.Message, n int, b []byte) ([]stargate.Message, error) {
	msgs := make([]stargate.Message, 0, min(n, len(b)/4))
	for i := range n {
		if len(b) < 4 {
			return nil, errBadEntry
		}
		size := binary.BigEndian.Uint32(b)
		b = b[4:]
		if uint64(size) > uint64(len(b)) {
			return nil, errBadEntry
		}
		m := base
		m.ID.BatchIndex, m.ID.BatchSize = int32(i), int32(n)
		payloadSize, err := singleMetadata(b[:size], &m)
		if err != nil {
			return nil, err
		}
		b = b[size:]
		if payloadSize > uint64(len(b)) {
			return nil, errBadEntry
		}
		m.Payload = b[:payloadSize:payloadSize]
		b = b[payloadSize:]
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// singleMetadata decodes protobuf SingleMessageMetadata into m: 1
// properties (KeyValue: 1 key, 2 value), 2 partition_key, 3 payload_size,
// 5 event_time, 6 partition_key_b64_encoded. It returns payload_size.
func singleMetadata(b []byte, m *stargate.Message) (payloadSize uint64, err error) {
	var keyB64 bool
	err = protoFields(b, func(field int, v uint64, data []byte) error {
		switch field {
		case 1:
			var k, val string
			if err := protoFields(data, func(f int, _ uint64, d []byte) error {
				switch f {
				case 1:
					k = string(d)
				case 2:
					val = string(d)
				}
				return nil
			}); err != nil {
				return err
			}
			if m.Properties == nil {
				m.Properties = make(map[string]string)
			}
			m.Properties[k] = val
		case 2:
			m.Key = string(data)
		case 3:
			payloadSize = v
		case 5:
			if v > 0 {
				m.EventTime = time.UnixMilli(int64(v))
			}
		case 6:
			keyB64 = v != 0
		}
		return nil
	})
	if err == nil && keyB64 {
		k, derr := base64.StdEncoding.DecodeString(m.Key)
		if derr != nil {
			return 0, errBadEntry
		}
		m.Key = string(k)
	}
	return payloadSize, err
}

// protoFields calls f for each field of a protobuf message: v holds a
// varint's value, data a length-delimited field's bytes. Fixed-width
// fields are skipped.
func protoFields(b []byte, f func(field int, v uint64, data []byte) error) error {
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		if n <= 0 {
			return errBadEntry
		}
		b = b[n:]
		field := int(tag >> 3)
		switch tag & 7 {
		case 0:
			v, n := binary.Uvarint(b)
			if n <= 0 {
				return errBadEntry
			}
			b = b[n:]
			if err := f(field, v, nil); err != nil {
				return err
			}
		case 1, 5:
			size := 8
			if tag&7 == 5 {
				size = 4
			}
			if len(b) < size {
				return errBadEntry
			}
			b = b[size:]
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return errBadEntry
			}
			data := b[n : n+int(l)]
			b = b[n+int(l):]
			if err := f(field, 0, data); err != nil {
				return err
			}
		default:
			return errBadEntry
		}
	}
	return nil
}
