package stargate

import (
	"strconv"
	"strings"
)

// The option enums and their Pulsar spellings. Each enum's zero value is the
// server's default, which is sent by omitting the parameter.

// SubscriptionType is how a subscription shares messages among consumers.
type SubscriptionType int

// Subscription types. The zero value is Exclusive, the server's default.
const (
	Exclusive SubscriptionType = iota // one consumer; a second one is refused with ErrBusy
	Shared                            // messages spread round-robin over all consumers
	Failover                          // one active consumer, the others stand by
	KeyShared                         // each key goes to one consumer, in order while connected (see docs/guarantees.md for reconnects)
)

var subscriptionTypeNames = enum[SubscriptionType]{"Exclusive", "Shared", "Failover", "Key_Shared"}

// String returns Pulsar's name for t, e.g. "Key_Shared".
func (t SubscriptionType) String() string { return subscriptionTypeNames.name(t) }

// SubscriptionMode says whether a subscription outlives its consumers.
type SubscriptionMode int

// Subscription modes. The zero value is Durable, the server's default.
const (
	Durable    SubscriptionMode = iota // the cursor is stored; the subscription survives disconnects
	NonDurable                         // the subscription disappears with its last consumer
)

var subscriptionModeNames = enum[SubscriptionMode]{"Durable", "NonDurable"}

// String returns Pulsar's name for m.
func (m SubscriptionMode) String() string { return subscriptionModeNames.name(m) }

// Position is where a new subscription (ConsumerOptions.InitialPosition)
// or a reader (ReaderOptions.Start) starts. A reader can also start after
// a given message: ReaderOptions.StartMessageID.
type Position int

// Start positions. The zero value is Latest, the server's default.
const (
	Latest   Position = iota // after the last message: only messages published from then on
	Earliest                 // before the first message still stored in the topic
)

var positionNames = enum[Position]{"Latest", "Earliest"}

// String returns Pulsar's name for p, "Latest" or "Earliest".
func (p Position) String() string { return positionNames.name(p) }

// CompressionType is how the broker-side producer compresses batches.
type CompressionType int

// Compression types. The zero value is CompressionNone.
const (
	CompressionNone CompressionType = iota
	CompressionLZ4
	CompressionZLib
	CompressionZSTD
	CompressionSnappy
)

var compressionNames = enum[CompressionType]{"NONE", "LZ4", "ZLIB", "ZSTD", "SNAPPY"}

// String returns Pulsar's name for c, e.g. "ZSTD".
func (c CompressionType) String() string { return compressionNames.name(c) }

// RoutingMode picks the partition of a key-less message on a partitioned
// topic. Keyed messages always go to hash(key) mod partitions.
type RoutingMode int

// Routing modes. The zero value is RoutingSinglePartition, the server's default.
const (
	RoutingSinglePartition RoutingMode = iota // one partition, chosen at random, for the producer's life
	RoutingRoundRobin                         // partitions in turn
)

var routingNames = enum[RoutingMode]{"SinglePartition", "RoundRobinPartition"}

// String returns Pulsar's name for r.
func (r RoutingMode) String() string { return routingNames.name(r) }

// HashingScheme is how a key is hashed to a partition.
type HashingScheme int

// Hashing schemes. The zero value is JavaStringHash, the server's default.
const (
	JavaStringHash HashingScheme = iota
	Murmur3Hash
)

var hashingNames = enum[HashingScheme]{"JavaStringHash", "Murmur3_32Hash"}

// String returns Pulsar's name for h.
func (h HashingScheme) String() string { return hashingNames.name(h) }

// CryptoFailureAction is what a consumer or reader does with a message it
// cannot decrypt: the server's consumer, or, for a Consumer with
// ConsumerOptions.KeyReader, the client itself (see there).
type CryptoFailureAction int

// Crypto failure actions. The zero value is CryptoFail, the server's default.
const (
	CryptoFail    CryptoFailureAction = iota // withhold the message (it stays unacknowledged)
	CryptoDiscard                            // drop it
	CryptoConsume                            // deliver it still encrypted
)

var cryptoNames = enum[CryptoFailureAction]{"FAIL", "DISCARD", "CONSUME"}

// String returns Pulsar's name for a.
func (a CryptoFailureAction) String() string { return cryptoNames.name(a) }

// enum is the Pulsar spelling of each value of an enum type E, indexed by
// value: the one helper that names, parses and validates every option enum.
type enum[E ~int] []string

// name returns e's Pulsar spelling, or "invalid(n)".
func (n enum[E]) name(e E) string { return n.arg(e).name() }

// check refuses a value with no spelling, naming field.
func (n enum[E]) check(field string, e E) error { return n.arg(e).check(field) }

// parse returns the value spelled s.
func (n enum[E]) parse(s string) (E, bool) {
	for i, name := range n {
		if name == s {
			return E(i), true
		}
	}
	return 0, false
}

// arg returns e as a query table value (see param.get).
func (n enum[E]) arg(e E) enumArg { return enumArg{names: n, v: int(e)} }

// enumArg is a value of some enum type, with its spellings.
type enumArg struct {
	names []string
	v     int
}

func (a enumArg) valid() bool { return a.v >= 0 && a.v < len(a.names) }

func (a enumArg) name() string {
	if !a.valid() {
		return "invalid(" + strconv.Itoa(a.v) + ")"
	}
	return a.names[a.v]
}

func (a enumArg) check(field string) error {
	if !a.valid() {
		return argErr(field, strconv.Itoa(a.v), "unknown value; want one of "+strings.Join(a.names, ", "))
	}
	return nil
}
