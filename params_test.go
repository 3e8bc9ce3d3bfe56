package stargate

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestOptionsToQuery(t *testing.T) {
	for _, tc := range []struct {
		name string
		q    func() (string, error)
		want string
	}{
		{"producer zero", func() (string, error) { return enc((&ProducerOptions{}).query()) }, ""},
		{"producer all", func() (string, error) {
			return enc((&ProducerOptions{Name: "p1", SendTimeout: 2 * time.Second, Batching: true, BatchingMaxMessages: 10,
				BatchingMaxPublishDelay: 5 * time.Millisecond, MaxPendingMessages: 50, RoutingMode: RoutingRoundRobin,
				HashingScheme: Murmur3Hash, Compression: CompressionZSTD, InitialSequenceID: 7, EncryptionKeys: []string{"a", "b"}}).query())
		}, "batchingEnabled=true&batchingMaxMessages=10&batchingMaxPublishDelay=5&compressionType=ZSTD&encryptionKeys=a%2Cb&hashingScheme=Murmur3_32Hash&initialSequenceId=7&maxPendingMessages=50&messageRoutingMode=RoundRobinPartition&producerName=p1&sendTimeoutMillis=2000"},
		{"producer no timeout", func() (string, error) { return enc((&ProducerOptions{SendTimeout: -1}).query()) }, "sendTimeoutMillis=0"},
		{"consumer zero", func() (string, error) { return enc((&ConsumerOptions{}).query()) }, ""},
		{"consumer all", func() (string, error) {
			return enc((&ConsumerOptions{Type: KeyShared, Mode: NonDurable, InitialPosition: Earliest, ReceiverQueueSize: 10,
				AckTimeout: 2 * time.Second, NackRedeliveryDelay: 300 * time.Millisecond, Name: "c", PriorityLevel: 2,
				DeadLetter: DeadLetterPolicy{MaxRedeliveries: 3, Topic: "dlq"}, PullMode: true, PullWindow: 5, CryptoFailureAction: CryptoConsume}).query())
		}, "ackTimeoutMillis=2000&consumerName=c&cryptoFailureAction=CONSUME&deadLetterTopic=persistent%3A%2F%2Fpublic%2Fdefault%2Fdlq&maxRedeliverCount=3&negativeAckRedeliveryDelay=300&priorityLevel=2&pullMode=true&receiverQueueSize=10&subscriptionInitialPosition=Earliest&subscriptionMode=NonDurable&subscriptionType=Key_Shared"},
		{"consumer immediate nack", func() (string, error) { return enc((&ConsumerOptions{NackRedeliveryDelay: -1}).query()) }, "negativeAckRedeliveryDelay=0"},
		{"reader earliest", func() (string, error) { return enc((&ReaderOptions{Start: Earliest, Name: "r"}).query()) }, "messageId=earliest&readerName=r"},
		{"reader latest", func() (string, error) { return enc((&ReaderOptions{Start: Latest}).query()) }, ""},
		{"reader from id", func() (string, error) {
			return enc((&ReaderOptions{StartMessageID: MessageID{LedgerID: 7, Partition: -1, BatchIndex: -1}}).query())
		}, "messageId=CAcQADAA"},
	} {
		got, err := tc.q()
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v\nwant %q", tc.name, got, err, tc.want)
		}
	}
}

func enc(q interface{ Encode() string }, err error) (string, error) {
	if err != nil {
		return "", err
	}
	return q.Encode(), nil
}

func TestOptionsRejected(t *testing.T) {
	for _, tc := range []struct {
		field string
		err   error
	}{
		{"ProducerOptions.BatchingMaxMessages", q((&ProducerOptions{BatchingMaxMessages: 5}).query())},
		{"ProducerOptions.BatchingMaxMessages", q((&ProducerOptions{Batching: true, BatchingMaxMessages: -1}).query())},
		{"ProducerOptions.MaxPendingMessages", q((&ProducerOptions{MaxPendingMessages: 5}).query())},
		{"ProducerOptions.BatchingMaxPublishDelay", q((&ProducerOptions{BatchingMaxPublishDelay: time.Millisecond}).query())},
		{"ProducerOptions.RoutingMode", q((&ProducerOptions{RoutingMode: 7}).query())},
		{"ProducerOptions.Compression", q((&ProducerOptions{Compression: -1}).query())},
		{"ProducerOptions.HashingScheme", q((&ProducerOptions{HashingScheme: 2}).query())},
		{"ProducerOptions.SendTimeout", q((&ProducerOptions{SendTimeout: time.Microsecond}).query())},
		{"ProducerOptions.InitialSequenceID", q((&ProducerOptions{InitialSequenceID: -2}).query())},
		{"ProducerOptions.EncryptionKeys", q((&ProducerOptions{EncryptionKeys: []string{"a,b"}}).query())},
		{"ProducerOptions.MaxInFlight", q((&ProducerOptions{MaxInFlight: -1}).query())},
		{"ConsumerOptions.Type", q((&ConsumerOptions{Type: 4}).query())},
		{"ConsumerOptions.Mode", q((&ConsumerOptions{Mode: 2}).query())},
		{"ConsumerOptions.InitialPosition", q((&ConsumerOptions{InitialPosition: 3}).query())},
		{"ConsumerOptions.ReceiverQueueSize", q((&ConsumerOptions{ReceiverQueueSize: 1001}).query())},
		{"ConsumerOptions.ReceiverQueueSize", q((&ConsumerOptions{ReceiverQueueSize: -1}).query())},
		{"ConsumerOptions.AckTimeout", q((&ConsumerOptions{AckTimeout: 500 * time.Millisecond}).query())},
		{"ConsumerOptions.AckTimeout", q((&ConsumerOptions{AckTimeout: -time.Second}).query())},
		{"ConsumerOptions.PriorityLevel", q((&ConsumerOptions{PriorityLevel: -1}).query())},
		{"ConsumerOptions.DeadLetter.Topic", q((&ConsumerOptions{DeadLetter: DeadLetterPolicy{Topic: "dlq"}}).query())},
		{"ConsumerOptions.DeadLetter.MaxRedeliveries", q((&ConsumerOptions{DeadLetter: DeadLetterPolicy{MaxRedeliveries: -1}}).query())},
		{"ConsumerOptions.DeadLetter.Topic", q((&ConsumerOptions{DeadLetter: DeadLetterPolicy{MaxRedeliveries: 1, Topic: "a/b"}}).query())},
		{"ConsumerOptions.PullWindow", q((&ConsumerOptions{PullWindow: 10}).query())},
		{"ConsumerOptions.CryptoFailureAction", q((&ConsumerOptions{CryptoFailureAction: 9}).query())},
		{"ReaderOptions.ReceiverQueueSize", q((&ReaderOptions{ReceiverQueueSize: 5000}).query())},
		{"ReaderOptions.CryptoFailureAction", q((&ReaderOptions{CryptoFailureAction: -1}).query())},
		{"ReaderOptions.Start", q((&ReaderOptions{Start: 2}).query())},
		{"ReaderOptions.StartMessageID", q((&ReaderOptions{Start: Earliest, StartMessageID: MessageID{LedgerID: 7, Partition: -1, BatchIndex: -1}}).query())},
	} {
		var ae *ArgError
		if !errors.As(tc.err, &ae) || !errors.Is(tc.err, ErrInvalidArgument) || ae.Arg != tc.field {
			t.Errorf("want an *ArgError naming %s, got %v", tc.field, tc.err)
			continue
		}
		if !strings.Contains(tc.err.Error(), tc.field) {
			t.Errorf("message %q does not name %s", tc.err, tc.field)
		}
	}
}

func q(_ any, err error) error { return err }

// decodeConsumerQuery is the inverse of ConsumerOptions.query, for the
// round-trip fuzz target.
func decodeConsumerQuery(t *testing.T, q url.Values) ConsumerOptions {
	var o ConsumerOptions
	atoi := func(k string) int {
		n, err := strconv.Atoi(q.Get(k))
		if err != nil {
			t.Fatalf("%s=%q is not a number", k, q.Get(k))
		}
		return n
	}
	for k := range q {
		switch k {
		case "subscriptionType":
			o.Type = parseEnum(t, q, k, subscriptionTypeNames)
		case "subscriptionMode":
			o.Mode = parseEnum(t, q, k, subscriptionModeNames)
		case "subscriptionInitialPosition":
			o.InitialPosition = parseEnum(t, q, k, positionNames)
		case "receiverQueueSize":
			o.ReceiverQueueSize = atoi(k)
		case "ackTimeoutMillis":
			o.AckTimeout = time.Duration(atoi(k)) * time.Millisecond
		case "negativeAckRedeliveryDelay":
			o.NackRedeliveryDelay = time.Duration(atoi(k)) * time.Millisecond
			if o.NackRedeliveryDelay == 0 {
				o.NackRedeliveryDelay = -1 // "at once" is sent as 0
			}
		case "consumerName":
			o.Name = q.Get(k)
		case "priorityLevel":
			o.PriorityLevel = atoi(k)
		case "maxRedeliverCount":
			o.DeadLetter.MaxRedeliveries = atoi(k)
		case "deadLetterTopic":
			o.DeadLetter.Topic = q.Get(k)
		case "pullMode":
			o.PullMode = q.Get(k) == "true"
		case "cryptoFailureAction":
			o.CryptoFailureAction = parseEnum(t, q, k, cryptoNames)
		default:
			t.Fatalf("unknown query parameter %s", k)
		}
	}
	return o
}

func parseEnum[E ~int](t *testing.T, q url.Values, k string, names enum[E]) E {
	e, ok := names.parse(q.Get(k))
	if !ok {
		t.Fatalf("%s=%q is not one of %v", k, q.Get(k), names)
	}
	return e
}

func FuzzConsumerOptionsQuery(f *testing.F) {
	f.Add(0, 0, 0, 0, int64(0), int64(0), "", 0, 0, "", false, 0, 0)
	f.Add(3, 1, 1, 10, int64(2000), int64(-1), "c1", 2, 3, "dlq", true, 50, 2)
	f.Add(9, -1, 2, 5000, int64(500), int64(300), "x", -1, -1, "a/b", false, 10, 7)
	f.Fuzz(func(t *testing.T, typ, mode, pos, queue int, ackMs, nackMs int64, name string, prio, redeliver int,
		dlq string, pull bool, window, crypto int) {
		in := ConsumerOptions{
			Type: SubscriptionType(typ), Mode: SubscriptionMode(mode), InitialPosition: Position(pos),
			ReceiverQueueSize: queue, AckTimeout: time.Duration(ackMs) * time.Millisecond,
			NackRedeliveryDelay: time.Duration(nackMs) * time.Millisecond, Name: name, PriorityLevel: prio,
			DeadLetter: DeadLetterPolicy{MaxRedeliveries: redeliver, Topic: dlq}, PullMode: pull, PullWindow: window,
			CryptoFailureAction: CryptoFailureAction(crypto),
		}
		q, err := in.query()
		if err != nil {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		// Whatever was accepted must come back from the wire form.
		want := in
		want.PullWindow = 0 // client-side only
		if want.NackRedeliveryDelay < 0 {
			want.NackRedeliveryDelay = -1
		}
		if want.DeadLetter.Topic != "" {
			tp, _ := ParseTopic(want.DeadLetter.Topic)
			want.DeadLetter.Topic = tp.String()
		}
		parsed, err := url.ParseQuery(q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		if got := decodeConsumerQuery(t, parsed); got != want {
			t.Fatalf("round trip:\n in  %+v\n got %+v", want, got)
		}
	})
}
