package stargate

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/stargate-go/stargate/internal/wsconn"
)

// This file is the one place that knows Pulsar's query parameter names,
// their defaults and their enum spellings. Options are validated here,
// before anything is dialled: a bad value is an *ArgError naming the field.

// SubscriptionType is how a subscription shares messages among consumers.
type SubscriptionType int

// Subscription types. The zero value is Exclusive, the server's default.
const (
	Exclusive SubscriptionType = iota // one consumer; a second one is refused with ErrBusy
	Shared                            // messages spread round-robin over all consumers
	Failover                          // one active consumer, the others stand by
	KeyShared                         // each key goes to one consumer, in order while connected (see docs/guarantees.md for reconnects)
)

var subscriptionTypeNames = []string{"Exclusive", "Shared", "Failover", "Key_Shared"}

// String returns Pulsar's name for t, e.g. "Key_Shared".
func (t SubscriptionType) String() string { return enumName(subscriptionTypeNames, int(t)) }

// SubscriptionMode says whether a subscription outlives its consumers.
type SubscriptionMode int

// Subscription modes. The zero value is Durable, the server's default.
const (
	Durable    SubscriptionMode = iota // the cursor is stored; the subscription survives disconnects
	NonDurable                         // the subscription disappears with its last consumer
)

var subscriptionModeNames = []string{"Durable", "NonDurable"}

// String returns Pulsar's name for m.
func (m SubscriptionMode) String() string { return enumName(subscriptionModeNames, int(m)) }

// InitialPosition is where a new subscription starts.
type InitialPosition int

// Initial positions. The zero value is PositionLatest, the server's default.
const (
	PositionLatest   InitialPosition = iota // only messages published after subscribing
	PositionEarliest                        // every message still stored in the topic
)

var initialPositionNames = []string{"Latest", "Earliest"}

// String returns Pulsar's name for p.
func (p InitialPosition) String() string { return enumName(initialPositionNames, int(p)) }

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

var compressionNames = []string{"NONE", "LZ4", "ZLIB", "ZSTD", "SNAPPY"}

// String returns Pulsar's name for c, e.g. "ZSTD".
func (c CompressionType) String() string { return enumName(compressionNames, int(c)) }

// RoutingMode picks the partition of a key-less message on a partitioned
// topic. Keyed messages always go to hash(key) mod partitions.
type RoutingMode int

// Routing modes. The zero value is RoutingSinglePartition, the server's default.
const (
	RoutingSinglePartition RoutingMode = iota // one partition, chosen at random, for the producer's life
	RoutingRoundRobin                         // partitions in turn
)

var routingNames = []string{"SinglePartition", "RoundRobinPartition"}

// String returns Pulsar's name for r.
func (r RoutingMode) String() string { return enumName(routingNames, int(r)) }

// HashingScheme is how a key is hashed to a partition.
type HashingScheme int

// Hashing schemes. The zero value is JavaStringHash, the server's default.
const (
	JavaStringHash HashingScheme = iota
	Murmur3Hash
)

var hashingNames = []string{"JavaStringHash", "Murmur3_32Hash"}

// String returns Pulsar's name for h.
func (h HashingScheme) String() string { return enumName(hashingNames, int(h)) }

// CryptoFailureAction is what a consumer or reader does with a message it
// cannot decrypt.
type CryptoFailureAction int

// Crypto failure actions. The zero value is CryptoFail, the server's default.
const (
	CryptoFail    CryptoFailureAction = iota // withhold the message (it stays unacknowledged)
	CryptoDiscard                            // drop it
	CryptoConsume                            // deliver it still encrypted
)

var cryptoNames = []string{"FAIL", "DISCARD", "CONSUME"}

// String returns Pulsar's name for a.
func (a CryptoFailureAction) String() string { return enumName(cryptoNames, int(a)) }

func enumName(names []string, i int) string {
	if i < 0 || i >= len(names) {
		return "invalid(" + strconv.Itoa(i) + ")"
	}
	return names[i]
}

func checkEnum(field string, names []string, i int) error {
	if i < 0 || i >= len(names) {
		return argErr(field, strconv.Itoa(i), "unknown value; want one of "+strings.Join(names, ", "))
	}
	return nil
}

// maxReceiverQueue is the server's cap on receiverQueueSize; larger values
// are silently clamped there, so they are refused here.
const maxReceiverQueue = 1000

// maxJavaInt is the largest value of the server's numeric parameters that
// it parses as a Java int (Integer.parseInt): a larger one is refused with
// 400 "Invalid query params: For input string: …" (checked against Pulsar
// 4.0.8 for every parameter bounded with it below).
const maxJavaInt = 1<<31 - 1

// maxPullWindow bounds ConsumerOptions.PullWindow; see its doc.
const maxPullWindow = 10000

// maxFrameSize bounds ProducerOptions.MaxFrameSize: the connection refuses
// to write a larger frame.
const maxFrameSize = wsconn.DefaultWriteLimit

// checkJavaInt refuses n above what the server can parse.
func checkJavaInt(field string, n int) error {
	if n > maxJavaInt {
		return argErr(field, strconv.Itoa(n), "at most 2147483647: the server reads it as a Java int")
	}
	return nil
}

// checkJavaMillis refuses a duration whose milliseconds the server cannot
// parse as a Java int (about 24.8 days).
func checkJavaMillis(field string, d time.Duration) error {
	if d.Milliseconds() > maxJavaInt {
		return argErr(field, d.String(), "at most 2147483647ms (about 24.8 days): the server reads it as a Java int of milliseconds")
	}
	return nil
}

// ProducerOptions configures a Producer. The zero value (or nil) gives the
// server's defaults and the client's default window.
type ProducerOptions struct {
	// Name is the producer name; empty lets the broker choose. A name
	// already connected to the topic is refused with ErrBusy.
	Name string
	// SendTimeout is how long the broker tries to persist a message before
	// failing it with send-error:8 (a temporary *SendError). Zero means the
	// server's default, 30s; negative means no timeout; at most about 24.8
	// days (2^31-1 ms, a Java int on the server). The client also
	// completes a future with ErrSendTimeout when no acknowledgement came
	// within SendTimeout plus 5s (for example while reconnecting).
	SendTimeout time.Duration
	// Batching lets the broker-side producer group messages into batches.
	// Acknowledgements then carry a batch index and size.
	Batching bool
	// BatchingMaxMessages caps a batch; zero means 1000. Needs Batching.
	// At most 2^31-1 (a Java int on the server).
	BatchingMaxMessages int
	// BatchingMaxPublishDelay is how long a batch may wait to fill; zero
	// means 1ms. Needs Batching. At most about 24.8 days (2^31-1 ms).
	BatchingMaxPublishDelay time.Duration
	// MaxPendingMessages bounds the broker-side producer's queue; zero means
	// unbounded. The server honours it only with Batching, so setting it
	// without Batching is an error. At most 2^31-1.
	MaxPendingMessages int
	// RoutingMode picks partitions for key-less messages.
	RoutingMode RoutingMode
	// HashingScheme hashes keys to partitions.
	HashingScheme HashingScheme
	// Compression compresses what the broker-side producer stores.
	Compression CompressionType
	// InitialSequenceID is the broker's deduplication baseline; zero means
	// not set.
	InitialSequenceID int64
	// EncryptionKeys names the public keys the server encrypts messages
	// with (server-side encryption; the server must be configured with a
	// crypto key reader).
	EncryptionKeys []string

	// MaxInFlight bounds the sends awaiting acknowledgement; Send waits for
	// a slot. Zero means 1000.
	MaxInFlight int
	// MaxInFlightBytes bounds the payload bytes awaiting acknowledgement.
	// Zero means 64 MiB.
	MaxInFlightBytes int
	// MaxFrameSize is the server's limit on one inbound text frame
	// (webSocketMaxTextFrameSize). A message whose encoded frame exceeds it
	// fails in Send with an *ArgError before anything is written. Zero means
	// 1 MiB, the server's default. At most 16 MiB, the client connection's
	// own limit on one outbound frame (about 12 MiB of payload); a server
	// configured to accept more still gets at most that. Set above the
	// server's real limit, a larger frame makes the server close the
	// connection with 1009: the producer then ends, and the futures of
	// pending and later sends fail with that *CloseError (a resend would
	// meet it again on every connection).
	MaxFrameSize int
}

const (
	defaultMaxInFlight      = 1000
	defaultMaxInFlightBytes = 64 << 20
	defaultMaxFrameSize     = 1 << 20
	sendTimeoutGrace        = 5 * time.Second
	defaultSendTimeout      = 30 * time.Second
)

// withDefaults returns a copy of o with client-side defaults filled in.
func (o *ProducerOptions) withDefaults() ProducerOptions {
	var c ProducerOptions
	if o != nil {
		c = *o
		c.EncryptionKeys = append([]string(nil), o.EncryptionKeys...)
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = defaultMaxInFlight
	}
	if c.MaxInFlightBytes == 0 {
		c.MaxInFlightBytes = defaultMaxInFlightBytes
	}
	if c.MaxFrameSize == 0 {
		c.MaxFrameSize = defaultMaxFrameSize
	}
	return c
}

// clientSendTimeout is how long a future waits before the client gives up
// on it; 0 means never.
func (o *ProducerOptions) clientSendTimeout() time.Duration {
	switch {
	case o.SendTimeout < 0:
		return 0
	case o.SendTimeout == 0:
		return defaultSendTimeout + sendTimeoutGrace
	}
	return o.SendTimeout + sendTimeoutGrace
}

func (o *ProducerOptions) query() (url.Values, error) {
	q := url.Values{}
	switch {
	case o.SendTimeout < 0:
		q.Set("sendTimeoutMillis", "0")
	case o.SendTimeout > 0:
		if o.SendTimeout < time.Millisecond {
			return nil, argErr("ProducerOptions.SendTimeout", o.SendTimeout.String(), "below the server's 1ms resolution")
		}
		if err := checkJavaMillis("ProducerOptions.SendTimeout", o.SendTimeout); err != nil {
			return nil, err
		}
		q.Set("sendTimeoutMillis", millis(o.SendTimeout))
	}
	if err := checkJavaInt("ProducerOptions.BatchingMaxMessages", o.BatchingMaxMessages); err != nil {
		return nil, err
	}
	if err := checkJavaMillis("ProducerOptions.BatchingMaxPublishDelay", o.BatchingMaxPublishDelay); err != nil {
		return nil, err
	}
	if err := checkJavaInt("ProducerOptions.MaxPendingMessages", o.MaxPendingMessages); err != nil {
		return nil, err
	}
	if o.BatchingMaxMessages < 0 {
		return nil, argErr("ProducerOptions.BatchingMaxMessages", strconv.Itoa(o.BatchingMaxMessages), "must not be negative")
	}
	if o.BatchingMaxPublishDelay < 0 {
		return nil, argErr("ProducerOptions.BatchingMaxPublishDelay", o.BatchingMaxPublishDelay.String(), "must not be negative")
	}
	if o.MaxPendingMessages < 0 {
		return nil, argErr("ProducerOptions.MaxPendingMessages", strconv.Itoa(o.MaxPendingMessages), "must not be negative")
	}
	if !o.Batching {
		switch {
		case o.BatchingMaxMessages != 0:
			return nil, argErr("ProducerOptions.BatchingMaxMessages", strconv.Itoa(o.BatchingMaxMessages), "needs Batching")
		case o.BatchingMaxPublishDelay != 0:
			return nil, argErr("ProducerOptions.BatchingMaxPublishDelay", o.BatchingMaxPublishDelay.String(), "needs Batching")
		case o.MaxPendingMessages != 0:
			return nil, argErr("ProducerOptions.MaxPendingMessages", strconv.Itoa(o.MaxPendingMessages), "the server honours it only with Batching")
		}
	} else {
		q.Set("batchingEnabled", "true")
		if o.BatchingMaxMessages > 0 {
			q.Set("batchingMaxMessages", strconv.Itoa(o.BatchingMaxMessages))
		}
		if o.BatchingMaxPublishDelay > 0 {
			if o.BatchingMaxPublishDelay < time.Millisecond {
				return nil, argErr("ProducerOptions.BatchingMaxPublishDelay", o.BatchingMaxPublishDelay.String(), "below the server's 1ms resolution")
			}
			q.Set("batchingMaxPublishDelay", millis(o.BatchingMaxPublishDelay))
		}
		if o.MaxPendingMessages > 0 {
			q.Set("maxPendingMessages", strconv.Itoa(o.MaxPendingMessages))
		}
	}
	if err := checkEnum("ProducerOptions.RoutingMode", routingNames, int(o.RoutingMode)); err != nil {
		return nil, err
	}
	if o.RoutingMode != RoutingSinglePartition {
		q.Set("messageRoutingMode", o.RoutingMode.String())
	}
	if err := checkEnum("ProducerOptions.HashingScheme", hashingNames, int(o.HashingScheme)); err != nil {
		return nil, err
	}
	if o.HashingScheme != JavaStringHash {
		q.Set("hashingScheme", o.HashingScheme.String())
	}
	if err := checkEnum("ProducerOptions.Compression", compressionNames, int(o.Compression)); err != nil {
		return nil, err
	}
	if o.Compression != CompressionNone {
		q.Set("compressionType", o.Compression.String())
	}
	if o.Name != "" {
		q.Set("producerName", o.Name)
	}
	if o.InitialSequenceID < 0 {
		return nil, argErr("ProducerOptions.InitialSequenceID", strconv.FormatInt(o.InitialSequenceID, 10), "must not be negative")
	}
	if o.InitialSequenceID > 0 {
		q.Set("initialSequenceId", strconv.FormatInt(o.InitialSequenceID, 10))
	}
	for _, k := range o.EncryptionKeys {
		if k == "" || strings.Contains(k, ",") {
			return nil, argErr("ProducerOptions.EncryptionKeys", k, "key names must be non-empty and hold no comma")
		}
	}
	if len(o.EncryptionKeys) > 0 {
		q.Set("encryptionKeys", strings.Join(o.EncryptionKeys, ","))
	}
	if o.MaxInFlight < 0 {
		return nil, argErr("ProducerOptions.MaxInFlight", strconv.Itoa(o.MaxInFlight), "must not be negative")
	}
	if o.MaxInFlightBytes < 0 {
		return nil, argErr("ProducerOptions.MaxInFlightBytes", strconv.Itoa(o.MaxInFlightBytes), "must not be negative")
	}
	if o.MaxFrameSize < 0 {
		return nil, argErr("ProducerOptions.MaxFrameSize", strconv.Itoa(o.MaxFrameSize), "must not be negative")
	}
	if o.MaxFrameSize > maxFrameSize {
		return nil, argErr("ProducerOptions.MaxFrameSize", strconv.Itoa(o.MaxFrameSize),
			"at most "+strconv.Itoa(maxFrameSize)+" (16 MiB), the connection's limit on one outbound frame")
	}
	return q, nil
}

// DeadLetterPolicy sends a message to a dead-letter topic once it has been
// redelivered MaxRedeliveries times.
type DeadLetterPolicy struct {
	// MaxRedeliveries is the number of redeliveries after which a message
	// goes to the dead-letter topic; zero disables the policy. At most
	// 2^31-1.
	MaxRedeliveries int
	// Topic is the dead-letter topic; empty means the server's default,
	// "<topic>-<subscription>-DLQ", where a v3 consumer's <topic> is the
	// first topic of its list, or its pattern. Needs MaxRedeliveries.
	Topic string
}

// ConsumerOptions configures a Consumer. The zero value (or nil) gives an
// Exclusive, durable subscription starting at the latest message, in push
// mode, with the server's defaults.
type ConsumerOptions struct {
	// Type is the subscription type; the zero value is Exclusive.
	Type SubscriptionType
	// Mode is Durable (the zero value) or NonDurable.
	Mode SubscriptionMode
	// InitialPosition is where a new subscription starts; the zero value is
	// PositionLatest. It has no effect on an existing subscription. The
	// WebSocket API honours it from Pulsar 4.0 on; older servers ignore the
	// parameter and start at Latest. A NonDurable subscription is created
	// anew after every reconnect, so it starts there again.
	InitialPosition InitialPosition
	// ReceiverQueueSize is the server's prefetch and, in push mode, how many
	// unacknowledged messages it sends before waiting for acks. Zero means
	// 1000; at most 1000 (the server silently clamps larger values).
	ReceiverQueueSize int
	// AckTimeout redelivers a message not acknowledged within it. Zero
	// disables it; otherwise at least 1s and at most about 24.8 days
	// (2^31-1 ms, a Java int on the server). (Redelivery by ack timeout does
	// not reopen the server's push window: acknowledge or Nack instead.)
	AckTimeout time.Duration
	// NackRedeliveryDelay is how long after a Nack the message comes back.
	// Zero means the server's default, 60s; negative means at once; at most
	// about 24.8 days (2^31-1 ms).
	NackRedeliveryDelay time.Duration
	// Name is the consumer name; empty lets the server choose.
	Name string
	// PriorityLevel orders consumers of a Shared subscription: the server
	// prefers lower levels. Zero is the highest priority; at most 2^31-1.
	PriorityLevel int
	// DeadLetter moves messages redelivered too often to a dead-letter topic.
	DeadLetter DeadLetterPolicy
	// PullMode makes the server wait for permits: the Messages sequence asks
	// for messages only as fast as the loop takes them, at most PullWindow
	// ahead. Recommended with bounded fan-out (errgroup.SetLimit, conc pools).
	PullMode bool
	// PullWindow is how many messages the server may deliver beyond what the
	// loop has taken, in pull mode. Zero means 100. It is refilled when half
	// of it has been taken. Needs PullMode. At most 10000: the consumer may
	// hold that many received messages (payloads included) that the loop
	// has not taken, and a window of more than a few thousand only adds
	// memory, since the server's own prefetch is at most 1000
	// (ReceiverQueueSize).
	PullWindow int
	// CryptoFailureAction says what to do with messages that cannot be
	// decrypted; the zero value is CryptoFail.
	CryptoFailureAction CryptoFailureAction
}

const defaultPullWindow = 100

func (o *ConsumerOptions) withDefaults() ConsumerOptions {
	var c ConsumerOptions
	if o != nil {
		c = *o
	}
	if c.PullMode && c.PullWindow == 0 {
		c.PullWindow = defaultPullWindow
	}
	return c
}

func (o *ConsumerOptions) query() (url.Values, error) {
	q := url.Values{}
	if err := checkEnum("ConsumerOptions.Type", subscriptionTypeNames, int(o.Type)); err != nil {
		return nil, err
	}
	if o.Type != Exclusive {
		q.Set("subscriptionType", o.Type.String())
	}
	if err := checkEnum("ConsumerOptions.Mode", subscriptionModeNames, int(o.Mode)); err != nil {
		return nil, err
	}
	if o.Mode != Durable {
		q.Set("subscriptionMode", o.Mode.String())
	}
	if err := checkEnum("ConsumerOptions.InitialPosition", initialPositionNames, int(o.InitialPosition)); err != nil {
		return nil, err
	}
	if o.InitialPosition != PositionLatest {
		q.Set("subscriptionInitialPosition", o.InitialPosition.String())
	}
	if err := receiverQueue(q, "ConsumerOptions.ReceiverQueueSize", o.ReceiverQueueSize); err != nil {
		return nil, err
	}
	switch {
	case o.AckTimeout < 0:
		return nil, argErr("ConsumerOptions.AckTimeout", o.AckTimeout.String(), "must not be negative")
	case o.AckTimeout > 0 && o.AckTimeout < time.Second:
		return nil, argErr("ConsumerOptions.AckTimeout", o.AckTimeout.String(), "must be zero (off) or at least 1s")
	case o.AckTimeout > 0:
		if err := checkJavaMillis("ConsumerOptions.AckTimeout", o.AckTimeout); err != nil {
			return nil, err
		}
		q.Set("ackTimeoutMillis", millis(o.AckTimeout))
	}
	switch {
	case o.NackRedeliveryDelay < 0:
		q.Set("negativeAckRedeliveryDelay", "0")
	case o.NackRedeliveryDelay > 0:
		if err := checkJavaMillis("ConsumerOptions.NackRedeliveryDelay", o.NackRedeliveryDelay); err != nil {
			return nil, err
		}
		q.Set("negativeAckRedeliveryDelay", millis(o.NackRedeliveryDelay))
	}
	if o.Name != "" {
		q.Set("consumerName", o.Name)
	}
	if o.PriorityLevel < 0 {
		return nil, argErr("ConsumerOptions.PriorityLevel", strconv.Itoa(o.PriorityLevel), "must not be negative")
	}
	if err := checkJavaInt("ConsumerOptions.PriorityLevel", o.PriorityLevel); err != nil {
		return nil, err
	}
	if o.PriorityLevel > 0 {
		q.Set("priorityLevel", strconv.Itoa(o.PriorityLevel))
	}
	switch dl := o.DeadLetter; {
	case dl.MaxRedeliveries < 0:
		return nil, argErr("ConsumerOptions.DeadLetter.MaxRedeliveries", strconv.Itoa(dl.MaxRedeliveries), "must not be negative")
	case dl.MaxRedeliveries > maxJavaInt:
		return nil, checkJavaInt("ConsumerOptions.DeadLetter.MaxRedeliveries", dl.MaxRedeliveries)
	case dl.MaxRedeliveries == 0 && dl.Topic != "":
		return nil, argErr("ConsumerOptions.DeadLetter.Topic", dl.Topic, "needs MaxRedeliveries > 0")
	case dl.MaxRedeliveries > 0:
		q.Set("maxRedeliverCount", strconv.Itoa(dl.MaxRedeliveries))
		if dl.Topic != "" {
			t, err := ParseTopic(dl.Topic)
			if err != nil {
				return nil, argErr("ConsumerOptions.DeadLetter.Topic", dl.Topic, err.(*ArgError).Reason)
			}
			q.Set("deadLetterTopic", t.String())
		}
	}
	if o.PullWindow < 0 {
		return nil, argErr("ConsumerOptions.PullWindow", strconv.Itoa(o.PullWindow), "must not be negative")
	}
	if o.PullWindow > 0 && !o.PullMode {
		return nil, argErr("ConsumerOptions.PullWindow", strconv.Itoa(o.PullWindow), "needs PullMode")
	}
	if o.PullWindow > maxPullWindow {
		return nil, argErr("ConsumerOptions.PullWindow", strconv.Itoa(o.PullWindow),
			"at most 10000: the consumer may hold that many untaken messages in memory")
	}
	if o.PullMode {
		q.Set("pullMode", "true")
	}
	if err := crypto(q, "ConsumerOptions.CryptoFailureAction", o.CryptoFailureAction); err != nil {
		return nil, err
	}
	return q, nil
}

// ReaderOptions configures a Reader. The zero value (or nil) reads from the
// latest message on.
type ReaderOptions struct {
	// StartMessageID is where reading starts, exclusive: the first message
	// yielded is the one after it (the server offers no inclusive start).
	// Use Earliest for the whole topic; the zero value means Latest. A
	// partitioned topic can be read only from Earliest or Latest: the
	// server refuses a message ID there, and NewReader returns an *ArgError.
	StartMessageID MessageID
	// ReceiverQueueSize is the server's window of messages sent ahead of the
	// reader's flow-control acks. Zero means 1000; at most 1000.
	ReceiverQueueSize int
	// Name is the reader name; empty lets the server choose.
	Name string
	// CryptoFailureAction says what to do with messages that cannot be
	// decrypted; the zero value is CryptoFail.
	CryptoFailureAction CryptoFailureAction
	// StopAtEndOfTopic ends the Messages sequence without an error once the
	// topic has been terminated and every message read.
	StopAtEndOfTopic bool
}

func (o *ReaderOptions) query() (url.Values, error) {
	q := url.Values{}
	switch id := o.StartMessageID; {
	case id.IsZero(), id.Equal(Latest):
		// The server's default.
	case id.Equal(Earliest):
		q.Set("messageId", "earliest")
	default:
		q.Set("messageId", id.String())
	}
	if err := receiverQueue(q, "ReaderOptions.ReceiverQueueSize", o.ReceiverQueueSize); err != nil {
		return nil, err
	}
	if o.Name != "" {
		q.Set("readerName", o.Name)
	}
	if err := crypto(q, "ReaderOptions.CryptoFailureAction", o.CryptoFailureAction); err != nil {
		return nil, err
	}
	return q, nil
}

func receiverQueue(q url.Values, field string, n int) error {
	switch {
	case n < 0:
		return argErr(field, strconv.Itoa(n), "must not be negative")
	case n > maxReceiverQueue:
		return argErr(field, strconv.Itoa(n), "at most 1000 (the server clamps larger values)")
	case n > 0:
		q.Set("receiverQueueSize", strconv.Itoa(n))
	}
	return nil
}

func crypto(q url.Values, field string, a CryptoFailureAction) error {
	if err := checkEnum(field, cryptoNames, int(a)); err != nil {
		return err
	}
	if a != CryptoFail {
		q.Set("cryptoFailureAction", a.String())
	}
	return nil
}

// checkSubscription checks a subscription name (see subscriptionProblem).
func checkSubscription(s string) error {
	if p := subscriptionProblem(s); p != "" {
		return argErr("subscription", s, p)
	}
	return nil
}

// multiTopicQuery sets topics or topicsPattern for a v3 consumer.
func multiTopicQuery(q url.Values, topics []string, pattern string) error {
	if pattern != "" {
		if _, err := regexp.Compile(pattern); err != nil {
			return argErr("topics pattern", pattern, "not a regular expression: "+err.Error())
		}
		q.Set("topicsPattern", pattern)
		return nil
	}
	if len(topics) == 0 {
		return argErr("topics", "", "need at least one topic")
	}
	names := make([]string, len(topics))
	for i, s := range topics {
		t, err := ParseTopic(s)
		if err != nil {
			return err
		}
		names[i] = t.String()
	}
	q.Set("topics", strings.Join(names, ","))
	return nil
}

func millis(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
