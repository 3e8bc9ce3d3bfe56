package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stargate-go/stargate"
)

// outMessage is how consume and read print a message with -o json, and
// what produce --json reads back (it ignores the received-only fields).
type outMessage struct {
	ID              string            `json:"id,omitempty"`       // the wire form, for read --start
	Position        string            `json:"position,omitempty"` // ledger:entry:partition:batch
	Topic           string            `json:"topic,omitempty"`
	Key             string            `json:"key,omitempty"`
	Properties      map[string]string `json:"properties,omitempty"`
	PublishTime     string            `json:"publishTime,omitempty"`
	EventTime       string            `json:"eventTime,omitempty"`
	RedeliveryCount int               `json:"redeliveryCount,omitempty"`
	Payload         *string           `json:"payload,omitempty"`       // text payloads
	PayloadBase64   string            `json:"payloadBase64,omitempty"` // others, or all with --base64
}

// position is the readable form of an ID: ledger:entry:partition:batch.
func position(id stargate.MessageID) string {
	return fmt.Sprintf("%d:%d:%d:%d", id.LedgerID, id.EntryID, id.Partition, id.BatchIndex)
}

// formatTime prints t in UTC with milliseconds (Pulsar's precision), or ""
// for the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

func toOut(m stargate.Message, forceBase64 bool) outMessage {
	o := outMessage{
		ID:              m.ID.String(),
		Position:        position(m.ID),
		Key:             m.Key,
		Properties:      m.Properties,
		PublishTime:     formatTime(m.PublishTime),
		EventTime:       formatTime(m.EventTime),
		RedeliveryCount: m.RedeliveryCount,
	}
	if !m.Topic.IsZero() {
		o.Topic = m.Topic.String()
	}
	if !forceBase64 && utf8.Valid(m.Payload) {
		s := string(m.Payload)
		o.Payload = &s
	} else {
		o.PayloadBase64 = base64.StdEncoding.EncodeToString(m.Payload)
	}
	return o
}

// msgWriter prints received messages to stdout in one of the formats of
// consume and read, flushing after each so that a message is out before it
// is acknowledged.
type msgWriter struct {
	w           *bufio.Writer
	enc         *json.Encoder
	format      string // "text", "json" or "payload"
	forceBase64 bool
}

func newMsgWriter(w io.Writer, format string, forceBase64 bool) *msgWriter {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &msgWriter{w: bw, enc: enc, format: format, forceBase64: forceBase64}
}

func (mw *msgWriter) write(m stargate.Message) error {
	switch mw.format {
	case "payload":
		mw.w.Write(m.Payload)
		mw.w.WriteByte('\n')
	case "text":
		mw.w.WriteString(textLine(m, mw.forceBase64))
	default:
		if err := mw.enc.Encode(toOut(m, mw.forceBase64)); err != nil {
			return err
		}
	}
	return mw.w.Flush()
}

// textLine is a message for people: its position, publish time, key,
// event time, redelivery count and properties in brackets, then the
// payload: as it is when it is printable text on one line, quoted ("…")
// when it is other text, else base64:….
func textLine(m stargate.Message, forceBase64 bool) string {
	var b strings.Builder
	b.WriteString("[" + position(m.ID))
	if t := formatTime(m.PublishTime); t != "" {
		b.WriteString(" " + t)
	}
	if m.Key != "" {
		b.WriteString(" key=" + quoteIfNeeded(m.Key))
	}
	if t := formatTime(m.EventTime); t != "" {
		b.WriteString(" event=" + t)
	}
	if m.RedeliveryCount > 0 {
		fmt.Fprintf(&b, " redelivered=%d", m.RedeliveryCount)
	}
	keys := make([]string, 0, len(m.Properties))
	for k := range m.Properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(" " + quoteIfNeeded(k) + "=" + quoteIfNeeded(m.Properties[k]))
	}
	b.WriteString("] ")
	switch {
	case forceBase64 || !utf8.Valid(m.Payload):
		b.WriteString("base64:" + base64.StdEncoding.EncodeToString(m.Payload))
	case strings.IndexFunc(string(m.Payload), func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		b.WriteString(strconv.Quote(string(m.Payload)))
	default:
		b.WriteString(string(m.Payload))
	}
	b.WriteByte('\n')
	return b.String()
}

// quoteIfNeeded returns s, or s quoted when it holds spaces, quotes,
// brackets, '=' or characters that are not printable.
func quoteIfNeeded(s string) string {
	if s == "" {
		return `""`
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || r == ' ' || r == '"' || r == '[' || r == ']' || r == '=' {
			return strconv.Quote(s)
		}
	}
	return s
}

// parseMessageID accepts the wire form (base64, as printed in "id") or the
// readable ledger:entry[:partition[:batch]].
func parseMessageID(s string) (stargate.MessageID, error) {
	if strings.Contains(s, ":") {
		parts := strings.Split(s, ":")
		if len(parts) < 2 || len(parts) > 4 {
			return stargate.MessageID{}, fmt.Errorf("%q: want ledger:entry[:partition[:batch]] or a base64 ID", s)
		}
		n := []int64{0, 0, -1, -1}
		for i, p := range parts {
			v, err := strconv.ParseInt(p, 10, 64)
			if err != nil || (i >= 2 && (v < -1 || v > 1<<31-1)) {
				return stargate.MessageID{}, fmt.Errorf("%q: part %d is not a valid number", s, i+1)
			}
			n[i] = v
		}
		return stargate.MessageID{LedgerID: n[0], EntryID: n[1], Partition: int32(n[2]), BatchIndex: int32(n[3])}, nil
	}
	id, err := stargate.ParseMessageID(s)
	if err != nil {
		return stargate.MessageID{}, fmt.Errorf("%q: want ledger:entry[:partition[:batch]] or a base64 ID: %w", s, err)
	}
	return id, nil
}

// parseJSONLine decodes one produce --json line.
func parseJSONLine(line []byte) (stargate.Message, error) {
	var in struct {
		outMessage
		Payload   json.RawMessage `json:"payload"`
		EventTime json.RawMessage `json:"eventTime"`
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return stargate.Message{}, fmt.Errorf("not a JSON message: %w", err)
	}
	if dec.More() {
		return stargate.Message{}, errors.New("more than one JSON value on the line")
	}
	m := stargate.Message{Key: in.Key, Properties: in.Properties}
	var err error
	if m.EventTime, err = parseEventTime(in.EventTime); err != nil {
		return stargate.Message{}, err
	}
	hasPayload := len(in.Payload) > 0 && string(in.Payload) != "null"
	switch {
	case hasPayload && in.PayloadBase64 != "":
		return stargate.Message{}, errors.New(`"payload" and "payloadBase64" are exclusive`)
	case in.PayloadBase64 != "":
		if m.Payload, err = base64.StdEncoding.DecodeString(in.PayloadBase64); err != nil {
			return stargate.Message{}, fmt.Errorf("payloadBase64: %w", err)
		}
	case hasPayload && in.Payload[0] == '"':
		var s string
		if err := json.Unmarshal(in.Payload, &s); err != nil {
			return stargate.Message{}, fmt.Errorf("payload: %w", err)
		}
		m.Payload = []byte(s)
	case hasPayload: // any other JSON value is sent as its compact text
		var b bytes.Buffer
		if err := json.Compact(&b, in.Payload); err != nil {
			return stargate.Message{}, fmt.Errorf("payload: %w", err)
		}
		m.Payload = b.Bytes()
	}
	return m, nil
}

// parseEventTime reads an RFC 3339 string or milliseconds since the epoch.
func parseEventTime(raw json.RawMessage) (time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, nil
	}
	var s string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, fmt.Errorf("eventTime: %w", err)
		}
		if s == "" {
			return time.Time{}, nil
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("eventTime %q: want RFC 3339 or milliseconds since the epoch", s)
		}
		return t, nil
	}
	ms, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("eventTime %s: want RFC 3339 or milliseconds since the epoch", raw)
	}
	return time.UnixMilli(ms), nil
}

// humanBytes prints n as 12 B, 3.4 KiB, 5.6 MiB, …
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// humanCount prints n with thousands separators: 1,234,567.
func humanCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return "-" + humanCount(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
