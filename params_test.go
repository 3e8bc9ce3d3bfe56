package stargate

import (
	"errors"
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
			return enc((&ConsumerOptions{Type: KeyShared, Mode: NonDurable, InitialPosition: PositionEarliest, ReceiverQueueSize: 10,
				AckTimeout: 2 * time.Second, NackRedeliveryDelay: 300 * time.Millisecond, Name: "c", PriorityLevel: 2,
				DeadLetter: DeadLetterPolicy{MaxRedeliveries: 3, Topic: "dlq"}, PullMode: true, PullWindow: 5, CryptoFailureAction: CryptoConsume}).query())
		}, "ackTimeoutMillis=2000&consumerName=c&cryptoFailureAction=CONSUME&deadLetterTopic=persistent%3A%2F%2Fpublic%2Fdefault%2Fdlq&maxRedeliverCount=3&negativeAckRedeliveryDelay=300&priorityLevel=2&pullMode=true&receiverQueueSize=10&subscriptionInitialPosition=Earliest&subscriptionMode=NonDurable&subscriptionType=Key_Shared"},
		{"consumer immediate nack", func() (string, error) { return enc((&ConsumerOptions{NackRedeliveryDelay: -1}).query()) }, "negativeAckRedeliveryDelay=0"},
		{"reader earliest", func() (string, error) { return enc((&ReaderOptions{StartMessageID: Earliest, Name: "r"}).query()) }, "messageId=earliest&readerName=r"},
		{"reader latest", func() (string, error) { return enc((&ReaderOptions{StartMessageID: Latest}).query()) }, ""},
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
