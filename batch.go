package stargate

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// This file splits the decrypted payload of a batched entry, a Pulsar
// batch container, into its messages, as the binary clients do
// (ConsumerImpl.receiveIndividualMessagesFromBatch). The container is
// repeated
//
//	[4-byte big-endian size][SingleMessageMetadata, that many bytes][payload, payload_size bytes]
//
// and the messages share the entry's acknowledgement (batchAck).

var errBadBatch = errors.New("bad batch container")

// SingleMessageMetadata field numbers (PulsarApi.proto).
const (
	smmProperties       = 1 // repeated KeyValue{1 key, 2 value}
	smmPartitionKey     = 2
	smmPayloadSize      = 3
	smmCompactedOut     = 4
	smmEventTime        = 5
	smmOrderingKey      = 7
	smmNullValue        = 9
	smmNullPartitionKey = 10
)

// singleMeta is what a message of a batch says about itself.
type singleMeta struct {
	props        map[string]string
	key          string
	payloadSize  int
	hasSize      bool
	compactedOut bool
	eventTime    uint64
	nullValue    bool
}

// splitBatch returns the messages of the container plain, the entry m's
// payload after decryption and decompression. n is the entry's batch size
// (-1: unknown, split to the end).
func splitBatch(m Message, plain []byte, n int) ([]Message, error) {
	var out []Message
	var indexes []int32
	for i := 0; n < 0 && len(plain) > 0 || i < n; i++ {
		if len(plain) < 4 {
			return nil, fmt.Errorf("message %d: truncated metadata size", i)
		}
		size := binary.BigEndian.Uint32(plain)
		plain = plain[4:]
		if uint64(size) > uint64(len(plain)) {
			return nil, fmt.Errorf("message %d: metadata size %d beyond the payload", i, size)
		}
		md, err := parseSingleMeta(plain[:size])
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		plain = plain[size:]
		if md.payloadSize > len(plain) {
			return nil, fmt.Errorf("message %d: payload size %d beyond the payload", i, md.payloadSize)
		}
		payload := plain[:md.payloadSize:md.payloadSize]
		plain = plain[md.payloadSize:]
		if md.compactedOut {
			continue
		}
		e := m
		e.Payload = payload
		if md.nullValue {
			e.Payload = []byte{}
		}
		e.Key = md.key
		e.Properties = md.props
		e.EventTime = time.Time{}
		if md.eventTime > 0 {
			e.EventTime = time.UnixMilli(int64(md.eventTime))
		}
		out = append(out, e)
		indexes = append(indexes, int32(i))
	}
	if n > 0 && len(plain) != 0 {
		return nil, fmt.Errorf("%d bytes after the %d messages of the batch", len(plain), n)
	}
	total := int32(n)
	if n < 0 {
		total = int32(len(out))
	}
	var shared *batchAck
	if m.from != nil && m.ID.wire != "" && len(out) > 0 {
		shared = &batchAck{wire: m.ID.wire, from: m.from, acked: make([]bool, len(out))}
	}
	for j := range out {
		out[j].ID.BatchIndex = indexes[j]
		out[j].ID.BatchSize = total
		out[j].ID.wire = ""
		if shared != nil {
			out[j].batch = &batchRef{ack: shared, slot: j}
		}
	}
	return out, nil
}

func parseSingleMeta(b []byte) (singleMeta, error) {
	var md singleMeta
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return md, protowire.ParseError(n)
		}
		b = b[n:]
		switch {
		case num == smmProperties && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return md, protowire.ParseError(n)
			}
			k, val, err := parseKeyValue(v)
			if err != nil {
				return md, err
			}
			if md.props == nil {
				md.props = make(map[string]string)
			}
			md.props[k] = val
			b = b[n:]
		case num == smmPartitionKey && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return md, protowire.ParseError(n)
			}
			md.key = string(v)
			b = b[n:]
		case (num == smmPayloadSize || num == smmCompactedOut || num == smmEventTime || num == smmNullValue) && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return md, protowire.ParseError(n)
			}
			switch num {
			case smmPayloadSize:
				if int32(v) < 0 {
					return md, fmt.Errorf("negative payload_size %d", int32(v))
				}
				md.payloadSize, md.hasSize = int(int32(v)), true
			case smmCompactedOut:
				md.compactedOut = v != 0
			case smmEventTime:
				md.eventTime = v
			case smmNullValue:
				md.nullValue = v != 0
			}
			b = b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return md, protowire.ParseError(n)
			}
			b = b[n:]
		}
	}
	if !md.hasSize {
		return md, errors.New("SingleMessageMetadata without payload_size")
	}
	return md, nil
}

func parseKeyValue(b []byte) (k, v string, err error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", "", protowire.ParseError(n)
		}
		b = b[n:]
		if typ == protowire.BytesType && (num == 1 || num == 2) {
			s, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return "", "", protowire.ParseError(n)
			}
			if num == 1 {
				k = string(s)
			} else {
				v = string(s)
			}
			b = b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return "", "", protowire.ParseError(n)
		}
		b = b[n:]
	}
	return k, v, nil
}

// appendBatchEntry appends one message of a batch container: its
// SingleMessageMetadata and payload. It is what tests and the fake broker
// build containers with, in the layout the Java client writes.
func appendBatchEntry(b []byte, m *Message) []byte {
	var md []byte
	for k, v := range m.Properties {
		var kv []byte
		kv = protowire.AppendTag(kv, 1, protowire.BytesType)
		kv = protowire.AppendString(kv, k)
		kv = protowire.AppendTag(kv, 2, protowire.BytesType)
		kv = protowire.AppendString(kv, v)
		md = protowire.AppendTag(md, smmProperties, protowire.BytesType)
		md = protowire.AppendBytes(md, kv)
	}
	if m.Key != "" {
		md = protowire.AppendTag(md, smmPartitionKey, protowire.BytesType)
		md = protowire.AppendString(md, m.Key)
	}
	md = protowire.AppendTag(md, smmPayloadSize, protowire.VarintType)
	md = protowire.AppendVarint(md, uint64(len(m.Payload)))
	if !m.EventTime.IsZero() {
		md = protowire.AppendTag(md, smmEventTime, protowire.VarintType)
		md = protowire.AppendVarint(md, uint64(m.EventTime.UnixMilli()))
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(md)))
	b = append(b, md...)
	return append(b, m.Payload...)
}

// batchAck is the acknowledgement that the messages split from one entry
// share: the entry is acknowledged once each of them was acknowledged, and
// negatively acknowledged as soon as one of them was.
type batchAck struct {
	wire string
	from *inConn

	mu      sync.Mutex
	acked   []bool
	left    int // messages not yet acknowledged; set on first use
	started bool
	done    bool
}

// batchRef is one message's share of a batchAck.
type batchRef struct {
	ack  *batchAck
	slot int
}

// settle records the Ack or Nack of one message and acknowledges the entry
// when its turn has come.
func (r *batchRef) settle(ctx context.Context, nack bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a := r.ack
	a.mu.Lock()
	if !a.started {
		a.left, a.started = len(a.acked), true
	}
	send := false
	switch {
	case a.done:
	case nack:
		a.done, send = true, true
	case !a.acked[r.slot]:
		a.acked[r.slot] = true
		a.left--
		if a.left == 0 {
			a.done, send = true, true
		}
	}
	a.mu.Unlock()
	if !send {
		if a.from.in.l.isClosing() {
			return ErrClosed
		}
		return nil
	}
	return a.from.settle(ctx, a.wire, nack)
}
