package stargatetest

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// query gives first-value access to the query string (§1.3: only the first
// value of a repeated key is used).
type query url.Values

func (q query) get(k string) (string, bool) {
	v, ok := q[k]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[0], true
}

// invalid is the 400 the proxy returns for an IllegalArgumentException (§2.4).
func invalid(format string, a ...any) *httpError {
	return errStatus(400, "Invalid query params: "+fmt.Sprintf(format, a...))
}

// javaNumberError mimics NumberFormatException's message.
func javaNumberError(s string) *httpError {
	return invalid("For input string: \"%s\"", s)
}

func (q query) int(k string, def int64, bitSize int) (int64, *httpError) {
	s, ok := q.get(k)
	if !ok {
		return def, nil
	}
	v, err := strconv.ParseInt(s, 10, bitSize)
	if err != nil {
		return 0, javaNumberError(s)
	}
	return v, nil
}

// enum validates a case-sensitive Java enum name.
func (q query) enum(k, def, javaType string, allowed ...string) (string, *httpError) {
	s, ok := q.get(k)
	if !ok {
		return def, nil
	}
	for _, a := range allowed {
		if s == a {
			return s, nil
		}
	}
	if strings.HasSuffix(javaType, ".HashingScheme") { // parsed with valueOf, no check of its own
		return "", invalid("No enum constant %s.%s", javaType, s)
	}
	return "", invalid("Invalid %s %s", k, s)
}

// boolParam is Java's Boolean.parseBoolean: "true" in any case, else false.
func (q query) bool(k string) bool {
	s, _ := q.get(k)
	return strings.EqualFold(s, "true")
}

// producerParams holds the producer query parameters of §2.1.
type producerParams struct {
	name         string
	batching     bool
	batchMax     int
	batchDelay   time.Duration
	routing      string // SinglePartition or RoundRobinPartition
	hashing      string // JavaStringHash or Murmur3_32Hash
	sendTimeout  time.Duration
	initialSeqID int64
	clientKeys   map[string]encKey // client-side encryption's keys (§9); nil without
}

func parseProducerParams(q query) (producerParams, *httpError) {
	p := producerParams{batchMax: 1000, batchDelay: time.Millisecond}
	p.name, _ = q.get("producerName")
	ms, err := q.int("sendTimeoutMillis", 30000, 32)
	if err != nil {
		return p, err
	}
	if ms < 0 {
		return p, invalid("sendTimeout needs to be >= 0")
	}
	p.sendTimeout = time.Duration(ms) * time.Millisecond
	if p.batching = q.bool("batchingEnabled"); p.batching {
		// Since 3.2.0 these are read only with batching on (§2.1).
		n, err := q.int("batchingMaxMessages", 1000, 32)
		if err != nil {
			return p, err
		}
		p.batchMax = max(int(n), 1)
		d, err := q.int("batchingMaxPublishDelay", 1, 32)
		if err != nil {
			return p, err
		}
		p.batchDelay = time.Duration(max(d, 1)) * time.Millisecond
		pend, err := q.int("maxPendingMessages", 0, 32)
		if err != nil {
			return p, err
		}
		if pend < 0 {
			return p, invalid("maxPendingMessages needs to be >= 0")
		}
	}
	if p.routing, err = q.enum("messageRoutingMode", "SinglePartition", "org.apache.pulsar.client.api.MessageRoutingMode",
		"SinglePartition", "RoundRobinPartition", "CustomPartition"); err != nil {
		return p, err
	}
	if p.routing == "CustomPartition" {
		p.routing = "SinglePartition" // silently ignored by the proxy (§2.1)
	}
	if _, err = q.enum("compressionType", "NONE", "org.apache.pulsar.client.api.CompressionType",
		"NONE", "LZ4", "ZLIB", "ZSTD", "SNAPPY"); err != nil {
		return p, err
	}
	if p.hashing, err = q.enum("hashingScheme", "JavaStringHash", "org.apache.pulsar.client.api.HashingScheme",
		"JavaStringHash", "Murmur3_32Hash"); err != nil {
		return p, err
	}
	if p.initialSeqID, err = q.int("initialSequenceId", -1, 64); err != nil {
		return p, err
	}
	if p.clientKeys = parseClientKeys(q); p.clientKeys != nil {
		p.batching = false // the proxy turns its batching off in this mode
	}
	return p, nil
}

// Subscription types (§2.2).
const (
	subExclusive = "Exclusive"
	subShared    = "Shared"
	subFailover  = "Failover"
	subKeyShared = "Key_Shared"
)

// consumerParams holds the consumer query parameters of §2.2.
type consumerParams struct {
	subType       string
	durable       bool
	earliest      bool
	queueSize     int
	ackTimeout    time.Duration
	nackDelay     time.Duration
	name          string
	priority      int
	maxRedeliver  int // 0 = no DLQ
	deadLetter    string
	pull          bool
	crypto        string   // cryptoFailureAction: FAIL (default), DISCARD or CONSUME
	topics        []string // v3
	topicsPattern string   // v3
}

func parseConsumerParams(q query) (consumerParams, *httpError) {
	p := consumerParams{durable: true, queueSize: 1000, nackDelay: time.Minute}
	var err *httpError
	if p.subType, err = q.enum("subscriptionType", subExclusive, "org.apache.pulsar.client.api.SubscriptionType",
		subExclusive, subShared, subFailover, subKeyShared); err != nil {
		return p, err
	}
	mode, err := q.enum("subscriptionMode", "Durable", "org.apache.pulsar.client.api.SubscriptionMode", "Durable", "NonDurable")
	if err != nil {
		return p, err
	}
	p.durable = mode == "Durable"
	pos, err := q.enum("subscriptionInitialPosition", "Latest", "org.apache.pulsar.client.api.SubscriptionInitialPosition", "Latest", "Earliest")
	if err != nil {
		return p, err
	}
	p.earliest = pos == "Earliest"
	rq, err := q.int("receiverQueueSize", 1000, 32)
	if err != nil {
		return p, err
	}
	if rq < 0 {
		return p, invalid("receiverQueueSize needs to be >= 0")
	}
	p.queueSize = int(min(rq, 1000)) // silently clamped (§2.2)
	at, err := q.int("ackTimeoutMillis", 0, 32)
	if err != nil {
		return p, err
	}
	if at != 0 && at < 1000 {
		return p, invalid("Ack timeout should be greater than 1000 ms")
	}
	p.ackTimeout = time.Duration(at) * time.Millisecond
	nd, err := q.int("negativeAckRedeliveryDelay", 60000, 32)
	if err != nil {
		return p, err
	}
	if nd < 0 {
		return p, invalid("redeliveryDelay needs to be >= 0")
	}
	p.nackDelay = time.Duration(nd) * time.Millisecond
	p.name, _ = q.get("consumerName")
	pl, err := q.int("priorityLevel", 0, 32)
	if err != nil {
		return p, err
	}
	if pl < 0 {
		return p, invalid("priorityLevel needs to be >= 0")
	}
	p.priority = int(pl)
	if err := p.parseDLQ(q); err != nil {
		return p, err
	}
	p.pull = q.bool("pullMode")
	p.crypto = cryptoAction(q)
	return p, nil
}

func (p *consumerParams) parseDLQ(q query) *httpError {
	_, hasCount := q.get("maxRedeliverCount")
	dlt, hasTopic := q.get("deadLetterTopic")
	if !hasCount && !hasTopic {
		return nil
	}
	n, err := q.int("maxRedeliverCount", 0, 32)
	if err != nil {
		return err
	}
	if n <= 0 {
		return invalid("MaxRedeliverCount must be > 0.")
	}
	p.maxRedeliver = int(n)
	if hasTopic {
		full, e := normalizeTopic(dlt)
		if e != nil {
			return invalid("%s", e.Error())
		}
		p.deadLetter = full
	}
	return nil
}

// parseV3Topics reads topics/topicsPattern (§1.5) like Pulsar 4.0.8: the
// handler's constructor checks that exactly one is set and parses the first
// topic (500, an IllegalArgumentException); the consumer builder refuses
// blank list items (400).
func (p *consumerParams) parseV3Topics(q query) *httpError {
	list, hasList := q.get("topics")
	pattern, hasPattern := q.get("topicsPattern")
	switch {
	case hasList && hasPattern:
		return errStatus(500, iae+": Topics must be null when use topicsPattern")
	case !hasList && !hasPattern:
		return errStatus(500, iae+": Should set topics or topicsPattern")
	case hasPattern:
		if _, err := normalizeTopic(pattern); err != nil {
			return errStatus(500, iae+": "+shortNameError(pattern))
		}
		p.topicsPattern = pattern
		return nil
	}
	items := strings.Split(list, ",")
	for len(items) > 1 && items[len(items)-1] == "" { // Java's String.split
		items = items[:len(items)-1]
	}
	if _, err := normalizeTopic(items[0]); err != nil {
		return errStatus(500, iae+": "+shortNameError(items[0]))
	}
	for _, t := range items {
		if javaBlank(t) {
			return invalid("topicNames cannot have blank topic")
		}
	}
	for _, t := range items {
		full, err := normalizeTopic(javaTrim(t))
		if err != nil {
			return invalid("%s", shortNameError(t))
		}
		p.topics = append(p.topics, full)
	}
	return nil
}

// iae is the message of an IllegalArgumentException thrown by a handler's
// constructor, which Jetty reports as a 500 with the exception's toString.
const iae = "java.lang.IllegalArgumentException"

func shortNameError(name string) string {
	return "Invalid short topic name '" + name + "', it should be in the format of <tenant>/<namespace>/<topic> or <topic>"
}

// parseQueryLenient keeps whatever pairs parse, like a servlet container.
func parseQueryLenient(raw string) (url.Values, error) {
	return url.ParseQuery(raw)
}
