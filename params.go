package stargate

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stargate-go/stargate/internal/wsconn"
)

// This file is the one place that knows Pulsar's query parameter names and
// every bound of an option: a table per options type, a row per field.
// Options are validated by their table before anything is dialled: a bad
// value is an *ArgError naming the field.

// Bounds that the server, the connection or memory impose.
const (
	maxReceiverQueue = 1000 // the server silently clamps a larger receiverQueueSize, so it is refused
	// maxJavaInt is the largest value the server parses as a Java int
	// (Integer.parseInt): it refuses more with 400 "Invalid query params"
	// (Pulsar 4.0.8, every parameter bounded by it: TestServerJavaIntParams).
	maxJavaInt     = 1<<31 - 1
	maxPullWindow  = 10000                    // see ConsumerOptions.PullWindow
	maxFrameSize   = wsconn.DefaultWriteLimit // the connection refuses to write a larger frame
	minKeepAlive   = 100 * time.Millisecond   // the shortest ping interval
	maxConnections = 64                       // see ConsumerOptions.Connections
)

// limit is an upper bound and the reason given when it is exceeded.
type limit struct {
	max int64 // for durations, in milliseconds
	why string
}

var (
	javaInt    = limit{maxJavaInt, "at most 2147483647: the server reads it as a Java int"}
	javaMillis = limit{maxJavaInt, "at most 2147483647ms (about 24.8 days): the server reads it as a Java int of milliseconds"}
	queueLimit = limit{maxReceiverQueue, "at most 1000 (the server clamps larger values)"}
	pullLimit  = limit{maxPullWindow, "at most 10000: the consumer may hold that many untaken messages in memory"}
	connLimit  = limit{maxConnections, "at most 64 connections to one subscription"}
	frameLimit = limit{maxFrameSize, "at most " + strconv.Itoa(maxFrameSize) + " (16 MiB), the connection's limit on one outbound frame"}
)

// negative is what a negative duration means (a negative number is refused).
type negative int

const (
	refuseNegative negative = iota // an error: "must not be negative"
	sendZero                       // "off" or "at once": the parameter is sent as 0
	allowNegative                  // a client-side "disabled": nothing is sent
)

// param is one row of an options table.
type param[O any] struct {
	field  string       // the field, as errors name it after the type: "DeadLetter.Topic"
	key    string       // the query parameter; "" for a client-side setting
	get    func(*O) any // the value: bool, string, int, int64, time.Duration, []string (a list), topicArg, wire or enumArg
	limit  limit        // the upper bound of numbers; none if max is 0
	min    time.Duration
	minWhy string // the error for a positive duration below min
	neg    negative
	needs  func(*O) bool
	why    string // the error for a value set while needs reports false
}

var producerParams = []param[ProducerOptions]{
	{field: "Name", key: "producerName", get: func(o *ProducerOptions) any { return o.Name }},
	{field: "SendTimeout", key: "sendTimeoutMillis", get: func(o *ProducerOptions) any { return o.SendTimeout }, limit: javaMillis, min: time.Millisecond, minWhy: belowMillis, neg: sendZero},
	{field: "Batching", key: "batchingEnabled", get: func(o *ProducerOptions) any { return o.Batching }},
	{field: "BatchingMaxMessages", key: "batchingMaxMessages", get: func(o *ProducerOptions) any { return o.BatchingMaxMessages }, limit: javaInt, needs: batching, why: "needs Batching"},
	{field: "BatchingMaxPublishDelay", key: "batchingMaxPublishDelay", get: func(o *ProducerOptions) any { return o.BatchingMaxPublishDelay }, limit: javaMillis, min: time.Millisecond, minWhy: belowMillis, needs: batching, why: "needs Batching"},
	{field: "MaxPendingMessages", key: "maxPendingMessages", get: func(o *ProducerOptions) any { return o.MaxPendingMessages }, limit: javaInt, needs: batching, why: "the server honours it only with Batching"},
	{field: "RoutingMode", key: "messageRoutingMode", get: func(o *ProducerOptions) any { return routingNames.arg(o.RoutingMode) }},
	{field: "HashingScheme", key: "hashingScheme", get: func(o *ProducerOptions) any { return hashingNames.arg(o.HashingScheme) }},
	{field: "Compression", key: "compressionType", get: func(o *ProducerOptions) any { return compressionNames.arg(o.Compression) }},
	{field: "InitialSequenceID", key: "initialSequenceId", get: func(o *ProducerOptions) any { return o.InitialSequenceID }},
	{field: "EncryptionKeys", key: "encryptionKeys", get: func(o *ProducerOptions) any { return o.EncryptionKeys }},
	{field: "MaxInFlight", get: func(o *ProducerOptions) any { return o.MaxInFlight }},
	{field: "MaxInFlightBytes", get: func(o *ProducerOptions) any { return o.MaxInFlightBytes }},
	{field: "MaxFrameSize", get: func(o *ProducerOptions) any { return o.MaxFrameSize }, limit: frameLimit},
	{field: "PartitionRefresh", get: func(o *ProducerOptions) any { return o.PartitionRefresh }, neg: allowNegative,
		needs: func(o *ProducerOptions) bool { return o.PerPartition }, why: "needs PerPartition"},
}

var consumerParams = []param[ConsumerOptions]{
	{field: "Type", key: "subscriptionType", get: func(o *ConsumerOptions) any { return subscriptionTypeNames.arg(o.Type) }},
	{field: "Mode", key: "subscriptionMode", get: func(o *ConsumerOptions) any { return subscriptionModeNames.arg(o.Mode) }},
	{field: "InitialPosition", key: "subscriptionInitialPosition", get: func(o *ConsumerOptions) any { return positionNames.arg(o.InitialPosition) }},
	{field: "ReceiverQueueSize", key: "receiverQueueSize", get: func(o *ConsumerOptions) any { return o.ReceiverQueueSize }, limit: queueLimit},
	{field: "AckTimeout", key: "ackTimeoutMillis", get: func(o *ConsumerOptions) any { return o.AckTimeout }, limit: javaMillis, min: time.Second, minWhy: "must be zero (off) or at least 1s"},
	{field: "NackRedeliveryDelay", key: "negativeAckRedeliveryDelay", get: func(o *ConsumerOptions) any { return o.NackRedeliveryDelay }, limit: javaMillis, neg: sendZero},
	{field: "Name", key: "consumerName", get: func(o *ConsumerOptions) any { return o.Name }},
	{field: "PriorityLevel", key: "priorityLevel", get: func(o *ConsumerOptions) any { return o.PriorityLevel }, limit: javaInt},
	{field: "DeadLetter.MaxRedeliveries", key: "maxRedeliverCount", get: func(o *ConsumerOptions) any { return o.DeadLetter.MaxRedeliveries }, limit: javaInt},
	{field: "DeadLetter.Topic", key: "deadLetterTopic", get: func(o *ConsumerOptions) any { return topicArg(o.DeadLetter.Topic) },
		needs: func(o *ConsumerOptions) bool { return o.DeadLetter.MaxRedeliveries > 0 }, why: "needs MaxRedeliveries > 0"},
	{field: "PullMode", key: "pullMode", get: func(o *ConsumerOptions) any { return o.PullMode }},
	{field: "PullWindow", get: func(o *ConsumerOptions) any { return o.PullWindow }, limit: pullLimit,
		needs: func(o *ConsumerOptions) bool { return o.PullMode }, why: "needs PullMode"},
	{field: "CryptoFailureAction", key: "cryptoFailureAction", get: func(o *ConsumerOptions) any {
		if o.KeyReader != nil {
			return cryptoNames.arg(CryptoConsume) // the client decrypts: the server must hand over ciphertext
		}
		return cryptoNames.arg(o.CryptoFailureAction)
	}},
	{field: "PartitionRefresh", get: func(o *ConsumerOptions) any { return o.PartitionRefresh }, neg: allowNegative,
		needs: func(o *ConsumerOptions) bool { return o.PerPartition }, why: "needs PerPartition"},
	{field: "Connections", get: func(o *ConsumerOptions) any { return o.Connections }, limit: connLimit,
		needs: func(o *ConsumerOptions) bool { return o.Connections <= 1 || o.Type == Shared || o.Type == KeyShared },
		why:   "more than one connection needs Type Shared or KeyShared: an Exclusive or Failover subscription serves one consumer"},
}

var readerParams = []param[ReaderOptions]{
	{field: "Start", get: func(o *ReaderOptions) any { return positionNames.arg(o.Start) }}, // validated here, sent as messageId
	{field: "StartMessageID", key: "messageId", get: func(o *ReaderOptions) any { return wire(startPosition(o)) },
		needs: func(o *ReaderOptions) bool { return o.StartMessageID.IsZero() || o.Start == Latest }, why: "set either Start or StartMessageID"},
	{field: "ReceiverQueueSize", key: "receiverQueueSize", get: func(o *ReaderOptions) any { return o.ReceiverQueueSize }, limit: queueLimit},
	{field: "Name", key: "readerName", get: func(o *ReaderOptions) any { return o.Name }},
	{field: "CryptoFailureAction", key: "cryptoFailureAction", get: func(o *ReaderOptions) any { return cryptoNames.arg(o.CryptoFailureAction) }},
}

// clientParams are all client-side: validated, never sent.
var clientParams = []param[ClientOptions]{
	{field: "DialTimeout", get: func(o *ClientOptions) any { return o.DialTimeout }},
	{field: "KeepAlive", get: func(o *ClientOptions) any { return o.KeepAlive }, min: minKeepAlive, minWhy: "must be at least 100ms (or negative to disable pings)", neg: allowNegative},
	{field: "ReconnectDelay", get: func(o *ClientOptions) any { return o.ReconnectDelay }},
	{field: "MaxReconnectDelay", get: func(o *ClientOptions) any { return o.MaxReconnectDelay }},
	{field: "MaxMessageSize", get: func(o *ClientOptions) any { return o.MaxMessageSize }},
}

const belowMillis = "below the server's 1ms resolution"

func batching(o *ProducerOptions) bool { return o.Batching }

// topicArg is a topic name in an options field, sent in its full form.
type topicArg string

// wire is a value already in its query form.
type wire string

func (o *ProducerOptions) query() (url.Values, error) {
	return encode("ProducerOptions", o, producerParams)
}
func (o *ConsumerOptions) query() (url.Values, error) {
	return encode("ConsumerOptions", o, consumerParams)
}
func (o *ReaderOptions) query() (url.Values, error) { return encode("ReaderOptions", o, readerParams) }

// encode validates o by its table and returns its query parameters.
func encode[O any](typ string, o *O, table []param[O]) (url.Values, error) {
	q := url.Values{}
	for i := range table {
		p := &table[i]
		v, shown, err := p.encode(typ+"."+p.field, p.get(o))
		if err != nil {
			return nil, err
		}
		if v != "" && p.needs != nil && !p.needs(o) {
			return nil, argErr(typ+"."+p.field, shown, p.why)
		}
		if v != "" && p.key != "" {
			q.Set(p.key, v)
		}
	}
	return q, nil
}

// encode checks one value and returns its query form ("" for none: the
// zero value is the server's default) and how an error shows it.
func (p *param[O]) encode(field string, v any) (val, shown string, err error) {
	switch v := v.(type) {
	case bool:
		if v {
			return "true", "true", nil
		}
		return "", "", nil
	case string:
		return v, v, nil
	case int:
		return p.number(field, int64(v))
	case int64:
		return p.number(field, v)
	case time.Duration:
		return p.duration(field, v)
	case enumArg:
		if err := v.check(field); err != nil || v.v == 0 {
			return "", "", err
		}
		return v.name(), v.name(), nil
	case []string:
		return list(field, v)
	case topicArg:
		return topicName(field, string(v))
	case wire:
		return string(v), string(v), nil
	}
	panic("stargate: query table: unsupported value type for " + field)
}

func (p *param[O]) number(field string, n int64) (val, shown string, err error) {
	s := strconv.FormatInt(n, 10)
	switch {
	case n < 0:
		return "", "", argErr(field, s, "must not be negative")
	case p.limit.max > 0 && n > p.limit.max:
		return "", "", argErr(field, s, p.limit.why)
	case n == 0:
		return "", "", nil
	}
	return s, s, nil
}

func (p *param[O]) duration(field string, d time.Duration) (val, shown string, err error) {
	switch {
	case d < 0 && p.neg == sendZero:
		return "0", d.String(), nil
	case d < 0 && p.neg == allowNegative, d == 0:
		return "", "", nil
	case d < 0:
		return "", "", argErr(field, d.String(), "must not be negative")
	case d < p.min:
		return "", "", argErr(field, d.String(), p.minWhy)
	case p.limit.max > 0 && d.Milliseconds() > p.limit.max:
		return "", "", argErr(field, d.String(), p.limit.why)
	}
	return strconv.FormatInt(d.Milliseconds(), 10), d.String(), nil
}

// list is a comma-separated list of names.
func list(field string, names []string) (val, shown string, err error) {
	for _, k := range names {
		if k == "" || strings.Contains(k, ",") {
			return "", "", argErr(field, k, "key names must be non-empty and hold no comma")
		}
	}
	s := strings.Join(names, ",")
	return s, s, nil
}

func topicName(field, s string) (val, shown string, err error) {
	if s == "" {
		return "", "", nil
	}
	t, err := ParseTopic(s)
	if err != nil {
		return "", "", argErr(field, s, err.(*ArgError).Reason)
	}
	return t.String(), s, nil
}

// startPosition is a reader's messageId: "" for Latest, the server's
// default.
func startPosition(o *ReaderOptions) string {
	switch {
	case !o.StartMessageID.IsZero():
		return o.StartMessageID.String()
	case o.Start == Earliest:
		return "earliest"
	}
	return ""
}
