package stargatetest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
)

// jstring decodes a JSON value the way Jackson fills a String field: strings
// as-is, numbers and booleans as their text, null as unset.
type jstring struct {
	s   string
	set bool
}

func (j *jstring) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) == 0:
		return errors.New("empty value")
	case string(b) == "null":
		*j = jstring{}
		return nil
	case b[0] == '"':
		j.set = true
		return json.Unmarshal(b, &j.s)
	case b[0] == '{' || b[0] == '[':
		return errors.New("cannot deserialize a String from an object or array")
	}
	j.s, j.set = string(b), true
	return nil
}

func (j jstring) ptr() *string {
	if !j.set {
		return nil
	}
	s := j.s
	return &s
}

// jlong decodes a JSON value the way Jackson fills a long/Integer field:
// numbers (fractions truncated) or numeric strings.
type jlong struct {
	v   int64
	set bool
}

func (j *jlong) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		*j = jlong{}
		return nil
	}
	if b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			*j = jlong{}
			return nil
		}
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		*j = jlong{v: v, set: true}
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return errors.New("cannot deserialize a long from " + strconv.Quote(s))
	}
	*j = jlong{v: int64(f), set: true}
	return nil
}

// decodeFields decodes a JSON object into the given fields by exact key, as
// Jackson does (encoding/json would also match keys case-insensitively).
// Unknown keys are ignored; a non-object is an error.
func decodeFields(data []byte, fields map[string]any) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return err
	}
	for k, raw := range obj {
		if dst, ok := fields[k]; ok {
			if err := json.Unmarshal(raw, dst); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *producerFrame) decode(data []byte) error {
	return decodeFields(data, map[string]any{
		"payload": &f.Payload, "properties": &f.Properties, "context": &f.Context, "key": &f.Key,
		"eventTime": &f.EventTime, "deliverAt": &f.DeliverAt, "deliverAfterMs": &f.DeliverAfterMs,
		"encryptionParam": &f.EncryptionParam, "compressionType": &f.CompressionType,
		"uncompressedMessageSize": &f.UncompressedMessageSize,
	})
}

func (c *consumerCommand) decode(data []byte) error {
	return decodeFields(data, map[string]any{
		"type": &c.Type, "messageId": &c.MessageID, "permitMessages": &c.PermitMessages,
	})
}

// producerFrame is WS/data/ProducerMessage (§3.1); unknown fields are ignored.
type producerFrame struct {
	Payload        jstring            `json:"payload"`
	Properties     map[string]jstring `json:"properties"`
	Context        jstring            `json:"context"`
	Key            jstring            `json:"key"`
	EventTime      jstring            `json:"eventTime"`
	DeliverAt      jlong              `json:"deliverAt"`
	DeliverAfterMs jlong              `json:"deliverAfterMs"`
	// client-side encryption (§9)
	EncryptionParam         jstring `json:"encryptionParam"`
	CompressionType         jstring `json:"compressionType"`
	UncompressedMessageSize jlong   `json:"uncompressedMessageSize"`
}

// producerAck is WS/data/ProducerAck (§3.2), fields in Java order.
type producerAck struct {
	Result        string  `json:"result"`
	ErrorMsg      string  `json:"errorMsg,omitempty"`
	MessageID     string  `json:"messageId,omitempty"`
	Context       *string `json:"context,omitempty"`
	ErrorCode     int     `json:"errorCode"`
	SchemaVersion int     `json:"schemaVersion"`
}

// consumerMessage is WS/data/ConsumerMessage (§3.4).
type consumerMessage struct {
	MessageID       string            `json:"messageId"`
	Payload         string            `json:"payload"`
	Properties      map[string]string `json:"properties"`
	PublishTime     string            `json:"publishTime"`
	RedeliveryCount int               `json:"redeliveryCount"`
	EventTime       string            `json:"eventTime,omitempty"`
	Key             *string           `json:"key,omitempty"`
	// EncryptionContext is written after key, as Jackson does for Pulsar
	// 4.0.8's ConsumerMessage (field order).
	EncryptionContext *encryptionContext `json:"encryptionContext,omitempty"`
}

// consumerCommand is WS/data/ConsumerCommand (§3.6).
type consumerCommand struct {
	Type           jstring `json:"type"`
	MessageID      jstring `json:"messageId"`
	PermitMessages jlong   `json:"permitMessages"`
}

type endOfTopic struct {
	EndOfTopic bool `json:"endOfTopic"`
}

// javaTime formats like pulsar-common's DateFormatter (§3.9):
// ISO_OFFSET_DATE_TIME, millisecond precision, trailing zeros dropped.
func javaTime(t time.Time) string {
	return t.Truncate(time.Millisecond).Format("2006-01-02T15:04:05.999Z07:00")
}

// parseJavaTime accepts what ISO_OFFSET_DATE_TIME parses: an offset is
// required, seconds and fraction are optional.
func parseJavaTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02T15:04Z07:00", s); err == nil {
		return t, nil
	}
	// DateTimeParseException's message; the index is where ISO_OFFSET_DATE_TIME
	// stopped (approximated: the end when only the offset is missing).
	at := 0
	if _, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
		at = len(s)
	}
	return time.Time{}, errors.New("Text '" + s + "' could not be parsed at index " + strconv.Itoa(at))
}

// decodeJavaBase64 is java.util.Base64.getDecoder().decode: standard
// alphabet, padding optional, no line breaks.
func decodeJavaBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("Illegal base64 character a")
	}
	trimmed := strings.TrimRight(s, "=")
	if len(s)-len(trimmed) > 2 {
		return nil, errors.New("Input byte array has incorrect ending byte")
	}
	for i := 0; i < len(trimmed); i++ {
		if c := trimmed[i]; !isBase64Char(c) {
			return nil, errors.New("Illegal base64 character " + strconv.FormatInt(int64(c), 16))
		}
	}
	b, err := base64.RawStdEncoding.DecodeString(trimmed)
	if err != nil {
		return nil, errors.New("Last unit does not have enough valid bits")
	}
	return b, nil
}

func isBase64Char(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/'
}

func renderMessage(e *entry, id string, redeliveries int, reader bool) consumerMessage {
	m := consumerMessage{
		MessageID:         id,
		Payload:           base64.StdEncoding.EncodeToString(e.payload),
		Properties:        e.props,
		PublishTime:       javaTime(e.publishTime),
		RedeliveryCount:   redeliveries,
		Key:               e.key,
		EncryptionContext: renderEncryption(e, reader),
	}
	if reader {
		m.RedeliveryCount = 0
	}
	if m.Properties == nil {
		m.Properties = map[string]string{}
	}
	if e.eventTime != 0 {
		m.EventTime = javaTime(time.UnixMilli(e.eventTime).In(e.publishTime.Location()))
	}
	return m
}
