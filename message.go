package stargate

import (
	"cmp"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strconv"
	"time"
)

// Message is one Pulsar message: what a Producer sends and what a Consumer
// or Reader yields.
//
// When sending, set Payload and any of Key, Properties, EventTime,
// DeliverAt/DeliverAfter and ReplicationClusters; the rest is ignored.
// Received messages carry ID, PublishTime, RedeliveryCount and, where the
// server says, Topic; DeliverAt, DeliverAfter and ReplicationClusters are
// never set on them.
//
// A received Message stays valid after the loop body that got it returns:
// it may be handed to another goroutine and acknowledged there.
type Message struct {
	// Payload is the message body. It may be empty. Sending base64-encodes
	// it; the encoded frame must fit the server's text-frame limit
	// (ProducerOptions.MaxFrameSize).
	Payload []byte
	// Key is the partition key: it picks the partition of a partitioned topic
	// and the consumer of a Key_Shared subscription.
	Key string
	// Properties are application-defined string pairs.
	Properties map[string]string
	// EventTime is the application's timestamp; zero means unset. Pulsar
	// keeps millisecond precision.
	EventTime time.Time

	// DeliverAt delays delivery until the given time; DeliverAfter delays it
	// by a duration. Pulsar honours delayed delivery only on Shared and
	// Key_Shared subscriptions. Zero means deliver at once.
	DeliverAt    time.Time
	DeliverAfter time.Duration
	// ReplicationClusters restricts geo-replication to the named clusters.
	ReplicationClusters []string

	// ID identifies a received message; zero on messages being sent.
	ID MessageID
	// Topic is the topic a received message came from, when known: the
	// consumer's or reader's topic on /ws/v2 endpoints, zero on a v3
	// multi-topic consumer (the server does not say).
	Topic Topic
	// PublishTime is when the broker accepted the message.
	PublishTime time.Time
	// RedeliveryCount counts earlier deliveries of this message to the
	// subscription (after a Nack, an ack timeout or a lost consumer).
	RedeliveryCount int
	// Encryption is set on a received message whose Payload is still
	// end-to-end encrypted: it says how to decrypt it (see Decrypt). It is
	// nil on messages a consumer with ConsumerOptions.KeyReader decrypted,
	// and on messages that were not encrypted. It is ignored when sending.
	Encryption *EncryptionContext

	from  *inConn   // the connection that delivered it; nil unless from a Consumer
	batch *batchRef // the entry's shared acknowledgement, for a message split from a batch
}

// MessageID identifies a message within a topic: the ledger and entry the
// broker stored it in, the partition of a partitioned topic, and its index
// within a batch.
//
// IDs from the same partition are ordered by Compare. IDs from different
// partitions or topics are not comparable. A MessageID received from the
// server keeps its wire form, which String returns verbatim; that is the
// form acknowledgements must use.
type MessageID struct {
	LedgerID   int64
	EntryID    int64
	Partition  int32 // -1 on a non-partitioned topic
	BatchIndex int32 // -1 when the message is not part of a batch
	BatchSize  int32 // messages in the batch; 0 when not batched

	wire string // base64 as received from the server; "" for IDs built here
}

// errBadMessageID is wrapped by ParseMessageID's *ArgError.
var errBadMessageID = errors.New("not a Pulsar MessageIdData")

// ParseMessageID decodes the base64 protobuf form the WebSocket API uses,
// as returned by MessageID.String. Unknown protobuf fields are skipped.
func ParseMessageID(s string) (MessageID, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		return MessageID{}, argErr("message ID", s, "not base64: "+err.Error())
	}
	id, err := decodeMessageID(raw)
	if err != nil {
		return MessageID{}, argErr("message ID", s, err.Error())
	}
	id.wire = s
	return id, nil
}

// decodeMessageID reads protobuf MessageIdData: 1 ledgerId, 2 entryId,
// 3 partition, 4 batch_index, 6 batch_size (uint64/int32 varints).
func decodeMessageID(b []byte) (MessageID, error) {
	id := MessageID{Partition: -1, BatchIndex: -1}
	var seen uint8
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		if n <= 0 {
			return MessageID{}, errBadMessageID
		}
		b = b[n:]
		field, wireType := tag>>3, tag&7
		var v uint64
		switch wireType {
		case 0:
			v, n = binary.Uvarint(b)
			if n <= 0 {
				return MessageID{}, errBadMessageID
			}
			b = b[n:]
		case 1, 5:
			size := 8
			if wireType == 5 {
				size = 4
			}
			if len(b) < size {
				return MessageID{}, errBadMessageID
			}
			b = b[size:]
			continue
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return MessageID{}, errBadMessageID
			}
			b = b[n+int(l):]
			continue
		default:
			return MessageID{}, errBadMessageID
		}
		switch field {
		case 1:
			id.LedgerID, seen = int64(v), seen|1
		case 2:
			id.EntryID, seen = int64(v), seen|2
		case 3:
			id.Partition = int32(v)
		case 4:
			id.BatchIndex = int32(v)
		case 6:
			id.BatchSize = int32(v)
		}
	}
	if seen != 3 {
		return MessageID{}, errors.New("ledgerId or entryId missing")
	}
	return id, nil
}

// appendMessageID encodes id as protobuf MessageIdData, the way the proxy
// does: partition and batch index only when non-negative, batch size always.
func appendMessageID(b []byte, id MessageID) []byte {
	b = binary.AppendUvarint(append(b, 1<<3), uint64(id.LedgerID))
	b = binary.AppendUvarint(append(b, 2<<3), uint64(id.EntryID))
	if id.Partition >= 0 {
		b = binary.AppendUvarint(append(b, 3<<3), uint64(id.Partition))
	}
	if id.BatchIndex >= 0 {
		b = binary.AppendUvarint(append(b, 4<<3), uint64(id.BatchIndex))
	}
	return binary.AppendUvarint(append(b, 6<<3), uint64(int64(id.BatchSize)))
}

// String returns the base64 wire form: verbatim for IDs received from the
// server, encoded for IDs built by hand. The zero MessageID gives "".
func (id MessageID) String() string {
	if id.wire != "" {
		return id.wire
	}
	if id.IsZero() {
		return ""
	}
	return base64.StdEncoding.EncodeToString(appendMessageID(nil, id))
}

// IsZero reports whether id is the zero MessageID (no message). An ID
// received from the server is never zero; a hand-built ID whose fields are
// all zero is.
func (id MessageID) IsZero() bool { return id == MessageID{} }

// Compare orders IDs of the same partition: -1 if id is before other, 0 if
// equal, +1 if after. Within an entry, a batch index of -1 sorts first.
func (id MessageID) Compare(other MessageID) int {
	return cmp.Or(
		cmp.Compare(id.LedgerID, other.LedgerID),
		cmp.Compare(id.EntryID, other.EntryID),
		cmp.Compare(id.BatchIndex, other.BatchIndex),
	)
}

// Equal reports whether id and other name the same message (their wire
// forms may differ, e.g. in fields the server does not fill).
func (id MessageID) Equal(other MessageID) bool {
	return id.LedgerID == other.LedgerID && id.EntryID == other.EntryID &&
		id.Partition == other.Partition && id.BatchIndex == other.BatchIndex
}

// GoString makes IDs readable in test failures and %#v.
func (id MessageID) GoString() string {
	return "MessageID(" + strconv.FormatInt(id.LedgerID, 10) + ":" + strconv.FormatInt(id.EntryID, 10) +
		":" + strconv.Itoa(int(id.Partition)) + ":" + strconv.Itoa(int(id.BatchIndex)) + ")"
}
