package stargatetest

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
)

// messageID is Pulsar's MessageIdData (protocol doc §4). Absent optional
// fields are -1, like the Java defaults.
type messageID struct {
	ledger     int64
	entry      int64
	partition  int32 // field 3, written only when >= 0
	batchIndex int32 // field 4, written only inside a batch
	batchSize  int32 // field 6, always written (0 = not batched)
}

// encode returns the std-base64 (padded) protobuf encoding the proxy sends.
func (id messageID) encode() string {
	b := make([]byte, 0, 32)
	b = appendField(b, 1, uint64(id.ledger))
	b = appendField(b, 2, uint64(id.entry))
	if id.partition >= 0 {
		b = appendField(b, 3, uint64(int64(id.partition)))
	}
	if id.batchIndex >= 0 {
		b = appendField(b, 4, uint64(int64(id.batchIndex)))
	}
	b = appendField(b, 6, uint64(int64(id.batchSize)))
	return base64.StdEncoding.EncodeToString(b)
}

// String formats id like Java's MessageIdImpl.toString
// (ledger:entry:partition[:batchIndex]); used for ORIGIN_MESSAGE_ID.
func (id messageID) String() string {
	s := fmt.Sprintf("%d:%d:%d", id.ledger, id.entry, id.partition)
	if id.batchIndex >= 0 {
		s += ":" + strconv.Itoa(int(id.batchIndex))
	}
	return s
}

// before reports whether id sorts before o within one partition
// (ledger, entry, batch index with -1 first).
func (id messageID) before(o messageID) bool {
	if id.ledger != o.ledger {
		return id.ledger < o.ledger
	}
	if id.entry != o.entry {
		return id.entry < o.entry
	}
	return id.batchIndex < o.batchIndex
}

func appendField(b []byte, field int, v uint64) []byte {
	b = appendVarint(b, uint64(field)<<3) // wire type 0: varint
	return appendVarint(b, v)
}

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

var errBadMessageID = errors.New("invalid message id")

// decodeMessageID parses a std-base64 MessageIdData, skipping unknown fields.
func decodeMessageID(s string) (messageID, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return messageID{}, fmt.Errorf("%w: %v", errBadMessageID, err)
	}
	return parseMessageID(raw)
}

func parseMessageID(b []byte) (messageID, error) {
	id := messageID{partition: -1, batchIndex: -1}
	var haveLedger, haveEntry bool
	for len(b) > 0 {
		key, n := readVarint(b)
		if n <= 0 {
			return id, errBadMessageID
		}
		b = b[n:]
		field, wire := key>>3, key&7
		switch wire {
		case 0:
			v, n := readVarint(b)
			if n <= 0 {
				return id, errBadMessageID
			}
			b = b[n:]
			switch field {
			case 1:
				id.ledger, haveLedger = int64(v), true
			case 2:
				id.entry, haveEntry = int64(v), true
			case 3:
				id.partition = int32(v)
			case 4:
				id.batchIndex = int32(v)
			case 6:
				id.batchSize = int32(v)
			}
		case 1, 5:
			size := map[uint64]int{1: 8, 5: 4}[wire]
			if len(b) < size {
				return id, errBadMessageID
			}
			b = b[size:]
		case 2:
			l, n := readVarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return id, errBadMessageID
			}
			b = b[n+int(l):]
		default:
			return id, errBadMessageID
		}
	}
	if !haveLedger || !haveEntry {
		return id, fmt.Errorf("%w: missing ledgerId or entryId", errBadMessageID)
	}
	return id, nil
}

// readVarint returns the value and the bytes used, or n <= 0 on error.
func readVarint(b []byte) (v uint64, n int) {
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return v, i + 1
		}
	}
	return 0, -1
}
