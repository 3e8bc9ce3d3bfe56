package stargate

import (
	"bytes"
	"encoding/base64"
	"math"
	"strings"
	"time"
)

// This file holds the scanner that reads the frames the proxy writes without reflection. It
// accepts only a strict subset of JSON: an object whose strings are plain
// printable ASCII without escapes, known keys at most once and of the
// expected type (never null), unknown keys with any plain value, and nothing
// after the object but whitespace. On anything else it returns false and the
// caller falls back to encoding/json, which then decides (valid JSON with
// escapes, non-ASCII text, case-folded keys, …) or reports the error. Every
// []byte it stores points into the frame.

// Known keys, as bits of frameFields.seen and indexes of frameFields.str.
const (
	fMessageID = iota
	fPayload
	fPublishTime
	fEventTime
	fKey
	fContext
	fResult
	fErrorMsg
	nStrFields
	fProperties = iota - 1
	fRedelivery
	fEndOfTopic
	fEncryption // its raw value, parsed by parseEncryptionContext
)

// frameFields holds what scanFrame found. inbound selects the key set:
// consumer/reader frames (inFrame) or producer acks (ackFrame).
type frameFields struct {
	inbound    bool
	seen       uint16
	str        [nStrFields][]byte
	props      map[string]string
	redelivery int
	eot        bool
	encCtx     []byte
}

type (
	ackFields = frameFields
	inFields  = frameFields
)

func (f *frameFields) has(k int) bool { return f.seen&(1<<k) != 0 }

// keyIndex maps a key to its field, -1 for keys the target struct ignores,
// and -2 for keys encoding/json would match case-insensitively (fall back).
func (f *frameFields) keyIndex(k []byte) int {
	var names []string
	if f.inbound {
		switch string(k) {
		case "messageId":
			return fMessageID
		case "payload":
			return fPayload
		case "publishTime":
			return fPublishTime
		case "eventTime":
			return fEventTime
		case "key":
			return fKey
		case "properties":
			return fProperties
		case "redeliveryCount":
			return fRedelivery
		case "endOfTopic":
			return fEndOfTopic
		case "encryptionContext":
			return fEncryption
		}
		names = []string{"messageId", "payload", "publishTime", "eventTime", "key", "properties", "redeliveryCount", "endOfTopic", "encryptionContext"}
	} else {
		switch string(k) {
		case "result":
			return fResult
		case "messageId":
			return fMessageID
		case "context":
			return fContext
		case "errorMsg":
			return fErrorMsg
		}
		names = []string{"result", "messageId", "context", "errorMsg"}
	}
	for _, n := range names {
		if len(n) == len(k) && strings.EqualFold(n, string(k)) {
			return -2
		}
	}
	return -1
}

// scanFrame fills f from data; false means: use encoding/json instead.
func scanFrame(data []byte, f *frameFields) bool {
	i := skipWS(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false
	}
	i = skipWS(data, i+1)
	if i < len(data) && data[i] == '}' {
		return skipWS(data, i+1) == len(data)
	}
	for {
		key, j, ok := scanString(data, i)
		if !ok {
			return false
		}
		i = skipWS(data, j)
		if i >= len(data) || data[i] != ':' {
			return false
		}
		i = skipWS(data, i+1)
		k := f.keyIndex(key)
		switch {
		case k == -2:
			return false
		case k >= 0 && f.has(k):
			return false // repeated key: leave the merge rules to encoding/json
		case k >= 0:
			f.seen |= 1 << k
		}
		switch {
		case k < 0:
			i, ok = skipValue(data, i, 0)
		case k < nStrFields:
			f.str[k], i, ok = scanString(data, i)
		case k == fProperties:
			i, ok = f.scanProps(data, i)
		case k == fRedelivery:
			f.redelivery, i, ok = scanInt(data, i)
		case k == fEndOfTopic:
			f.eot, i, ok = scanBool(data, i)
		case k == fEncryption:
			start := i
			i, ok = skipValue(data, i, 0)
			f.encCtx = data[start:i]
		}
		if !ok {
			return false
		}
		i = skipWS(data, i)
		if i >= len(data) {
			return false
		}
		switch data[i] {
		case ',':
			i = skipWS(data, i+1)
		case '}':
			return skipWS(data, i+1) == len(data)
		default:
			return false
		}
	}
}

func skipWS(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString reads a string of printable ASCII without escapes starting at
// data[i] == '"' and returns its contents and the index after it.
func scanString(data []byte, i int) ([]byte, int, bool) {
	if i >= len(data) || data[i] != '"' {
		return nil, i, false
	}
	start := i + 1
	for j := start; j < len(data); j++ {
		c := data[j]
		if c == '"' {
			return data[start:j:j], j + 1, true
		}
		if c < 0x20 || c == '\\' || c >= 0x80 {
			return nil, j, false
		}
	}
	return nil, len(data), false
}

// scanProps reads an object of string values into f.props (nil when empty).
func (f *frameFields) scanProps(data []byte, i int) (int, bool) {
	if i >= len(data) || data[i] != '{' {
		return i, false
	}
	i = skipWS(data, i+1)
	if i < len(data) && data[i] == '}' {
		return i + 1, true
	}
	for {
		k, j, ok := scanString(data, i)
		if !ok {
			return j, false
		}
		i = skipWS(data, j)
		if i >= len(data) || data[i] != ':' {
			return i, false
		}
		v, j, ok := scanString(data, skipWS(data, i+1))
		if !ok {
			return j, false
		}
		if f.props == nil {
			f.props = make(map[string]string, 4)
		}
		f.props[string(k)] = string(v)
		i = skipWS(data, j)
		if i >= len(data) {
			return i, false
		}
		switch data[i] {
		case ',':
			i = skipWS(data, i+1)
		case '}':
			return i + 1, true
		default:
			return i, false
		}
	}
}

// scanNumber checks JSON number syntax and returns the index after it and
// whether it is a plain integer.
func scanNumber(data []byte, i int) (end int, integer, ok bool) {
	j := i
	if j < len(data) && data[j] == '-' {
		j++
	}
	switch {
	case j < len(data) && data[j] == '0':
		j++
	case j < len(data) && data[j] >= '1' && data[j] <= '9':
		for j < len(data) && data[j] >= '0' && data[j] <= '9' {
			j++
		}
	default:
		return j, false, false
	}
	integer = true
	if j < len(data) && data[j] == '.' {
		integer = false
		j++
		d := j
		for j < len(data) && data[j] >= '0' && data[j] <= '9' {
			j++
		}
		if j == d {
			return j, false, false
		}
	}
	if j < len(data) && (data[j] == 'e' || data[j] == 'E') {
		integer = false
		j++
		if j < len(data) && (data[j] == '+' || data[j] == '-') {
			j++
		}
		d := j
		for j < len(data) && data[j] >= '0' && data[j] <= '9' {
			j++
		}
		if j == d {
			return j, false, false
		}
	}
	return j, integer, true
}

// scanInt reads an integer of at most 18 digits (no overflow possible).
func scanInt(data []byte, i int) (int, int, bool) {
	end, integer, ok := scanNumber(data, i)
	if !ok || !integer || end-i > 18 {
		return 0, end, false
	}
	n, neg := 0, data[i] == '-'
	for _, c := range data[i:end] {
		if c != '-' {
			n = n*10 + int(c-'0')
		}
	}
	if neg {
		n = -n
	}
	return n, end, true
}

func scanBool(data []byte, i int) (bool, int, bool) {
	switch {
	case bytes.HasPrefix(data[i:], []byte("true")):
		return true, i + 4, true
	case bytes.HasPrefix(data[i:], []byte("false")):
		return false, i + 5, true
	}
	return false, i, false
}

// skipValue skips any plain JSON value (strings as scanString accepts).
func skipValue(data []byte, i, depth int) (int, bool) {
	if i >= len(data) || depth > 32 {
		return i, false
	}
	switch c := data[i]; {
	case c == '"':
		_, j, ok := scanString(data, i)
		return j, ok
	case c == '-' || (c >= '0' && c <= '9'):
		j, _, ok := scanNumber(data, i)
		return j, ok
	case c == 't' || c == 'f':
		_, j, ok := scanBool(data, i)
		return j, ok
	case c == 'n':
		if bytes.HasPrefix(data[i:], []byte("null")) {
			return i + 4, true
		}
		return i, false
	case c == '{' || c == '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = skipWS(data, i+1)
		if i < len(data) && data[i] == closer {
			return i + 1, true
		}
		for {
			if c == '{' {
				_, j, ok := scanString(data, i)
				if !ok {
					return j, false
				}
				i = skipWS(data, j)
				if i >= len(data) || data[i] != ':' {
					return i, false
				}
				i = skipWS(data, i+1)
			}
			j, ok := skipValue(data, i, depth+1)
			if !ok {
				return j, false
			}
			i = skipWS(data, j)
			if i >= len(data) {
				return i, false
			}
			switch data[i] {
			case ',':
				i = skipWS(data, i+1)
			case closer:
				return i + 1, true
			default:
				return i, false
			}
		}
	}
	return i, false
}

// parseUintBytes is strconv.ParseUint(string(b), 10, 64) without the copy.
func parseUintBytes(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// parseMessageIDBytes is ParseMessageID for padded base64 decoded on the
// stack; false means: let ParseMessageID decide (unpadded form, errors).
func parseMessageIDBytes(b []byte) (MessageID, bool) {
	var buf [96]byte
	if base64.StdEncoding.DecodedLen(len(b)) > len(buf) {
		return MessageID{}, false
	}
	n, err := base64.StdEncoding.Decode(buf[:], b)
	if err != nil {
		return MessageID{}, false
	}
	id, err := decodeMessageID(buf[:n])
	if err != nil {
		return MessageID{}, false
	}
	id.wire = string(b)
	return id, true
}

// parseTime is time.Parse(time.RFC3339Nano, string(b)), without allocating
// for the UTC form the proxy writes.
func parseTime(b []byte) (time.Time, error) {
	if t, ok := parseTimeBytes(b); ok {
		return t, nil
	}
	return time.Parse(time.RFC3339Nano, string(b))
}

// parseTimeBytes parses the UTC form the proxy writes,
// "2006-01-02T15:04:05[.fraction]Z", as time.Parse(time.RFC3339Nano) does;
// false means: let time.Parse decide (offsets, errors).
func parseTimeBytes(b []byte) (time.Time, bool) {
	if len(b) < 20 || b[len(b)-1] != 'Z' || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	num := func(s []byte) (int, bool) {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(b[0:4])
	mo, ok2 := num(b[5:7])
	d, ok3 := num(b[8:10])
	h, ok4 := num(b[11:13])
	mi, ok5 := num(b[14:16])
	s, ok6 := num(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59 ||
		d > time.Date(y, time.Month(mo)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return time.Time{}, false
	}
	ns := 0
	switch frac := b[19 : len(b)-1]; {
	case len(frac) == 0:
	case len(frac) >= 2 && len(frac) <= 10 && frac[0] == '.':
		v, ok := num(frac[1:])
		if !ok {
			return time.Time{}, false
		}
		for range 10 - len(frac) {
			v *= 10
		}
		ns = v
	default:
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), d, h, mi, s, ns, time.UTC), true
}
