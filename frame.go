package stargate

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file encodes and decodes the JSON frames of the WebSocket API
// (pulsar-websocket-protocol.md §3). Outbound frames are appended into
// reused buffers; nothing here allocates per message beyond what the
// decoded Message itself needs.

// eventTimeLayout is ISO-8601 with an offset and milliseconds, which the
// server parses into Pulsar's millisecond event time.
const eventTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// appendSendFrame appends the producer frame for m with the given context id.
func appendSendFrame(b []byte, m *Message, ctxID uint64) []byte {
	b = append(b, `{"payload":"`...)
	b = base64.StdEncoding.AppendEncode(b, m.Payload)
	b = append(b, `","context":"`...)
	b = strconv.AppendUint(b, ctxID, 10)
	b = append(b, '"')
	if m.Key != "" {
		b = append(b, `,"key":`...)
		b = appendJSONString(b, m.Key)
	}
	if len(m.Properties) > 0 {
		b = append(b, `,"properties":{`...)
		first := true
		for k, v := range m.Properties {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, v)
		}
		b = append(b, '}')
	}
	if !m.EventTime.IsZero() {
		b = append(b, `,"eventTime":"`...)
		b = m.EventTime.AppendFormat(b, eventTimeLayout)
		b = append(b, '"')
	}
	if !m.DeliverAt.IsZero() {
		b = append(b, `,"deliverAt":`...)
		b = strconv.AppendInt(b, m.DeliverAt.UnixMilli(), 10)
	}
	if m.DeliverAfter > 0 {
		b = append(b, `,"deliverAfterMs":`...)
		b = strconv.AppendInt(b, m.DeliverAfter.Milliseconds(), 10)
	}
	if len(m.ReplicationClusters) > 0 {
		b = append(b, `,"replicationClusters":[`...)
		for i, c := range m.ReplicationClusters {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, c)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// sendFrameSize returns the exact length of m's frame with a context id of
// up to 20 digits, without encoding it.
func sendFrameSize(m *Message) int {
	n := len(`{"payload":"","context":"12345678901234567890"}`) + base64.StdEncoding.EncodedLen(len(m.Payload))
	if m.Key != "" {
		n += len(`,"key":`) + jsonStringLen(m.Key)
	}
	if len(m.Properties) > 0 {
		n += len(`,"properties":{}`)
		for k, v := range m.Properties {
			n += jsonStringLen(k) + jsonStringLen(v) + 2
		}
	}
	if !m.EventTime.IsZero() {
		n += len(`,"eventTime":"2006-01-02T15:04:05.000+00:00"`)
	}
	if !m.DeliverAt.IsZero() {
		n += len(`,"deliverAt":`) + 20
	}
	if m.DeliverAfter > 0 {
		n += len(`,"deliverAfterMs":`) + 20
	}
	for _, c := range m.ReplicationClusters {
		n += jsonStringLen(c) + 1
	}
	if len(m.ReplicationClusters) > 0 {
		n += len(`,"replicationClusters":[]`)
	}
	return n
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// jsonStringLen is an upper bound of len(appendJSONString(nil, s)).
func jsonStringLen(s string) int {
	n := 2
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
			n += 2
		case c < 0x20 || c >= utf8.RuneSelf:
			n += 6 // \u00XX, or at most \ufffd per invalid byte
		default:
			n++
		}
	}
	return n
}

// ackFrame is the server's reply to a send (§3.2).
type ackFrame struct {
	Result    string `json:"result"`
	MessageID string `json:"messageId"`
	Context   string `json:"context"`
	ErrorMsg  string `json:"errorMsg"`
}

// decodeAck parses a producer acknowledgement. ok is false when the frame
// names no send of ours (no or bad context, or not JSON); otherwise err is
// the send's outcome: nil with its ID, a *SendError, or a *ProtocolError.
//
// Frames in the shape the proxy writes take a hand-written scanner (see
// scanFrame) that allocates only the MessageID's wire string; anything else
// goes through encoding/json, so both paths give the same result.
func decodeAck(data []byte) (ctxID uint64, id MessageID, err error, ok bool) {
	var a ackFields
	if !scanFrame(data, &a) {
		return decodeAckJSON(data)
	}
	if !a.has(fContext) {
		return 0, MessageID{}, nil, false
	}
	ctxID, good := parseUintBytes(a.str[fContext])
	if !good {
		return 0, MessageID{}, nil, false
	}
	if string(a.str[fResult]) == "ok" {
		id, ok := parseMessageIDBytes(a.str[fMessageID])
		if !ok {
			return decodeAckJSON(data) // for the exact error
		}
		return ctxID, id, nil, true
	}
	code, _ := strconv.Atoi(strings.TrimPrefix(string(a.str[fResult]), "send-error:"))
	return ctxID, MessageID{}, &SendError{Code: code, Msg: string(a.str[fErrorMsg])}, true
}

// decodeAckJSON is decodeAck with encoding/json.
func decodeAckJSON(data []byte) (ctxID uint64, id MessageID, err error, ok bool) {
	var a ackFrame
	if json.Unmarshal(data, &a) != nil {
		return 0, MessageID{}, nil, false
	}
	ctxID, perr := strconv.ParseUint(a.Context, 10, 64)
	if perr != nil {
		return 0, MessageID{}, nil, false
	}
	if a.Result == "ok" {
		id, err := ParseMessageID(a.MessageID)
		if err != nil {
			return ctxID, MessageID{}, &ProtocolError{Frame: truncate(data), Err: err}, true
		}
		return ctxID, id, nil, true
	}
	code, _ := strconv.Atoi(strings.TrimPrefix(a.Result, "send-error:"))
	return ctxID, MessageID{}, &SendError{Code: code, Msg: a.ErrorMsg}, true
}

// inFrame is anything the server pushes to a consumer or reader (§3.4, §3.6).
type inFrame struct {
	MessageID       string            `json:"messageId"`
	Payload         []byte            `json:"payload"`
	Properties      map[string]string `json:"properties"`
	PublishTime     string            `json:"publishTime"`
	EventTime       string            `json:"eventTime"`
	RedeliveryCount int               `json:"redeliveryCount"`
	Key             *string           `json:"key"`
	EndOfTopic      *bool             `json:"endOfTopic"`
	Encryption      json.RawMessage   `json:"encryptionContext"`
}

// decodeInbound parses a consumer or reader frame. For an isEndOfTopic reply
// it returns eot != nil; otherwise the message.
//
// Frames in the shape the proxy writes (plain ASCII strings without escapes,
// no nulls, no repeated keys) take a hand-written scanner that decodes the
// base64 payload straight into the message's buffer and allocates only what
// the Message keeps: payload, ID string, key and properties. Anything else
// goes through encoding/json (decodeInboundJSON), so both paths give the same
// result; FuzzDecodeInboundDifferential holds them to it.
func decodeInbound(data []byte, topic Topic) (m Message, eot *bool, err error) {
	f := inFields{inbound: true}
	if !scanFrame(data, &f) {
		return decodeInboundJSON(data, topic)
	}
	if len(f.str[fPayload]) > 0 && (f.has(fEndOfTopic) || len(f.str[fMessageID]) == 0) {
		return decodeInboundJSON(data, topic) // encoding/json would still check the base64
	}
	if f.has(fEndOfTopic) {
		v := f.eot
		return Message{}, &v, nil
	}
	if len(f.str[fMessageID]) == 0 {
		return Message{}, nil, errUnknownFrame
	}
	id, ok := parseMessageIDBytes(f.str[fMessageID])
	if !ok {
		return decodeInboundJSON(data, topic)
	}
	m = Message{ID: id, Topic: topic, Properties: f.props, RedeliveryCount: f.redelivery}
	if p := f.str[fPayload]; len(p) > 0 {
		m.Payload = make([]byte, base64.StdEncoding.DecodedLen(len(p)))
		n, err := base64.StdEncoding.Decode(m.Payload, p)
		if err != nil {
			return decodeInboundJSON(data, topic)
		}
		m.Payload = m.Payload[:n]
	} else {
		m.Payload = []byte{}
	}
	if f.has(fKey) {
		m.Key = string(f.str[fKey])
	}
	if f.has(fEncryption) {
		if m.Encryption, err = parseEncryptionContext(f.encCtx); err != nil {
			return Message{}, nil, &ProtocolError{Frame: truncate(data), Err: err}
		}
	}
	if t := f.str[fPublishTime]; len(t) > 0 {
		if m.PublishTime, err = parseTime(t); err != nil {
			return Message{}, nil, &ProtocolError{Frame: truncate(data), Err: err}
		}
	}
	if t := f.str[fEventTime]; len(t) > 0 {
		if m.EventTime, err = parseTime(t); err != nil {
			return Message{}, nil, &ProtocolError{Frame: truncate(data), Err: err}
		}
	}
	return m, nil, nil
}

// decodeInboundJSON is decodeInbound with encoding/json.
func decodeInboundJSON(data []byte, topic Topic) (m Message, eot *bool, err error) {
	var f inFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return Message{}, nil, &ProtocolError{Frame: truncate(data), Err: err}
	}
	if f.EndOfTopic != nil {
		return Message{}, f.EndOfTopic, nil
	}
	if f.MessageID == "" {
		return Message{}, nil, errUnknownFrame
	}
	id, err := ParseMessageID(f.MessageID)
	if err != nil {
		return Message{}, nil, &ProtocolError{Frame: truncate(data), Err: err}
	}
	m = Message{
		ID:              id,
		Topic:           topic,
		Payload:         f.Payload,
		Properties:      f.Properties,
		RedeliveryCount: f.RedeliveryCount,
	}
	if m.Payload == nil {
		m.Payload = []byte{}
	}
	if len(m.Properties) == 0 {
		m.Properties = nil // as the scanner: an empty object costs no map
	}
	if f.Key != nil {
		m.Key = *f.Key
	}
	if m.Encryption, err = parseEncryptionContext(f.Encryption); err != nil {
		return Message{}, nil, &ProtocolError{Frame: truncate(data), Err: err}
	}
	if f.PublishTime != "" {
		if m.PublishTime, err = time.Parse(time.RFC3339Nano, f.PublishTime); err != nil {
			return Message{}, nil, &ProtocolError{Frame: truncate(data), Err: err}
		}
	}
	if f.EventTime != "" {
		if m.EventTime, err = time.Parse(time.RFC3339Nano, f.EventTime); err != nil {
			return Message{}, nil, &ProtocolError{Frame: truncate(data), Err: err}
		}
	}
	return m, nil, nil
}

// errUnknownFrame marks a frame that is neither a message nor a reply the
// client asked for; such frames (from a newer server) are skipped.
var errUnknownFrame = errors.New("unknown frame")

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}
