package stargate_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/stargatetest"
)

// TestBadInput feeds each kind of bad input to live handles: every case
// must fail with a typed error naming what was wrong, send nothing (the
// topic's counters do not move), and leave the live connections working.
func TestBadInput(t *testing.T) {
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := stargate.NewClient(srv.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	const topic = "persistent://public/default/bad-input"
	p, err := client.NewProducer(ctx, topic, &stargate.ProducerOptions{MaxInFlightBytes: 1 << 20, MaxFrameSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	cons, err := client.NewConsumer(ctx, topic, "sub", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	closed, err := client.NewProducer(ctx, "closed", nil)
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	closedCons, err := client.NewConsumer(ctx, "closed", "sub", nil)
	if err != nil {
		t.Fatal(err)
	}
	// A delivered message, for the ack-after-close case.
	if _, err := client.Produce(ctx, "closed", nil, stargate.Message{Payload: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	var delivered stargate.Message
	for m, err := range closedCons.Messages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		delivered = m
		break
	}
	closedCons.Close()

	send := func(m stargate.Message) error { _, err := p.Send(ctx, m).Wait(ctx); return err }
	arg := func(field string) func(error) bool {
		return func(err error) bool {
			var ae *stargate.ArgError
			return errors.As(err, &ae) && errors.Is(err, stargate.ErrInvalidArgument) &&
				strings.HasPrefix(ae.Arg, field) && strings.Contains(err.Error(), ae.Arg)
		}
	}
	is := func(target error) func(error) bool { return func(err error) bool { return errors.Is(err, target) } }
	newProducer := func(topic string, o *stargate.ProducerOptions) error {
		p, err := client.NewProducer(ctx, topic, o)
		if err == nil {
			p.Close()
		}
		return err
	}
	newConsumer := func(topic, sub string, o *stargate.ConsumerOptions) error {
		c, err := client.NewConsumer(ctx, topic, sub, o)
		if err == nil {
			c.Close()
		}
		return err
	}
	for _, tc := range []struct {
		name string
		run  func() error
		ok   func(error) bool
	}{
		{"empty topic", func() error { return newProducer("", nil) }, arg("topic")},
		{"two-part topic", func() error { return newProducer("a/b", nil) }, arg("topic")},
		{"v1 topic", func() error { return newProducer("persistent://t/cluster/ns/x", nil) }, arg("topic")},
		{"bad domain", func() error { return newProducer("http://a/b/c", nil) }, arg("topic")},
		{"bad tenant", func() error { return newProducer("te nant/ns/x", nil) }, arg("topic")},
		{"control char in name", func() error { return newProducer("t/ns/x\x07", nil) }, arg("topic")},
		{"unknown routing mode", func() error { return newProducer(topic, &stargate.ProducerOptions{RoutingMode: 9}) }, arg("ProducerOptions.RoutingMode")},
		{"unknown compression", func() error { return newProducer(topic, &stargate.ProducerOptions{Compression: 17}) }, arg("ProducerOptions.Compression")},
		{"negative batch size", func() error {
			return newProducer(topic, &stargate.ProducerOptions{Batching: true, BatchingMaxMessages: -5})
		}, arg("ProducerOptions.BatchingMaxMessages")},
		{"batch size without batching", func() error {
			return newProducer(topic, &stargate.ProducerOptions{BatchingMaxMessages: 5})
		}, arg("ProducerOptions.BatchingMaxMessages")},
		{"pending limit without batching", func() error {
			return newProducer(topic, &stargate.ProducerOptions{MaxPendingMessages: 5})
		}, arg("ProducerOptions.MaxPendingMessages")},
		{"send timeout below resolution", func() error {
			return newProducer(topic, &stargate.ProducerOptions{SendTimeout: time.Microsecond})
		}, arg("ProducerOptions.SendTimeout")},
		{"negative window", func() error { return newProducer(topic, &stargate.ProducerOptions{MaxInFlight: -1}) }, arg("ProducerOptions.MaxInFlight")},
		// Issue 10: bounds the server or the connection would refuse, or
		// that could exhaust memory.
		{"frame limit over the connection's", func() error {
			return newProducer(topic, &stargate.ProducerOptions{MaxFrameSize: 1 << 40})
		}, arg("ProducerOptions.MaxFrameSize")},
		{"frame limit just over 16 MiB", func() error {
			return newProducer(topic, &stargate.ProducerOptions{MaxFrameSize: 16<<20 + 1})
		}, arg("ProducerOptions.MaxFrameSize")},
		{"send timeout over a Java int of ms", func() error {
			return newProducer(topic, &stargate.ProducerOptions{SendTimeout: 100 * 24 * time.Hour})
		}, arg("ProducerOptions.SendTimeout")},
		{"batch delay over a Java int of ms", func() error {
			return newProducer(topic, &stargate.ProducerOptions{Batching: true, BatchingMaxPublishDelay: 1 << 31 * time.Millisecond})
		}, arg("ProducerOptions.BatchingMaxPublishDelay")},
		{"batch size over a Java int", func() error {
			return newProducer(topic, &stargate.ProducerOptions{Batching: true, BatchingMaxMessages: 1 << 31})
		}, arg("ProducerOptions.BatchingMaxMessages")},
		{"pending limit over a Java int", func() error {
			return newProducer(topic, &stargate.ProducerOptions{Batching: true, MaxPendingMessages: 1 << 31})
		}, arg("ProducerOptions.MaxPendingMessages")},
		{"ack timeout of 100 days", func() error {
			return newConsumer(topic, "s", &stargate.ConsumerOptions{AckTimeout: 100 * 24 * time.Hour})
		}, arg("ConsumerOptions.AckTimeout")},
		{"nack delay over a Java int of ms", func() error {
			return newConsumer(topic, "s", &stargate.ConsumerOptions{NackRedeliveryDelay: 1 << 31 * time.Millisecond})
		}, arg("ConsumerOptions.NackRedeliveryDelay")},
		{"priority over a Java int", func() error {
			return newConsumer(topic, "s", &stargate.ConsumerOptions{Type: stargate.Shared, PriorityLevel: 1 << 31})
		}, arg("ConsumerOptions.PriorityLevel")},
		{"redeliveries over a Java int", func() error {
			return newConsumer(topic, "s", &stargate.ConsumerOptions{DeadLetter: stargate.DeadLetterPolicy{MaxRedeliveries: 1 << 31}})
		}, arg("ConsumerOptions.DeadLetter.MaxRedeliveries")},
		{"pull window of a billion", func() error {
			return newConsumer(topic, "s", &stargate.ConsumerOptions{PullMode: true, PullWindow: 1_000_000_000})
		}, arg("ConsumerOptions.PullWindow")},
		{"pull window just over 10000", func() error {
			return newConsumer(topic, "s", &stargate.ConsumerOptions{PullMode: true, PullWindow: 10001})
		}, arg("ConsumerOptions.PullWindow")},
		{"empty subscription", func() error { return newConsumer(topic, " ", nil) }, arg("subscription")},
		{"unknown subscription type", func() error { return newConsumer(topic, "s", &stargate.ConsumerOptions{Type: 4}) }, arg("ConsumerOptions.Type")},
		{"receiver queue too big", func() error {
			return newConsumer(topic, "s", &stargate.ConsumerOptions{ReceiverQueueSize: 5000})
		}, arg("ConsumerOptions.ReceiverQueueSize")},
		{"ack timeout under 1s", func() error {
			return newConsumer(topic, "s", &stargate.ConsumerOptions{AckTimeout: 10 * time.Millisecond})
		}, arg("ConsumerOptions.AckTimeout")},
		{"negative ack timeout", func() error {
			return newConsumer(topic, "s", &stargate.ConsumerOptions{AckTimeout: -time.Second})
		}, arg("ConsumerOptions.AckTimeout")},
		{"dead letter topic without count", func() error {
			return newConsumer(topic, "s", &stargate.ConsumerOptions{DeadLetter: stargate.DeadLetterPolicy{Topic: "dlq"}})
		}, arg("ConsumerOptions.DeadLetter.Topic")},
		{"pull window without pull mode", func() error {
			return newConsumer(topic, "s", &stargate.ConsumerOptions{PullWindow: 10})
		}, arg("ConsumerOptions.PullWindow")},
		{"negative priority", func() error { return newConsumer(topic, "s", &stargate.ConsumerOptions{PriorityLevel: -1}) }, arg("ConsumerOptions.PriorityLevel")},
		{"no topics", func() error {
			_, err := client.NewMultiTopicConsumer(ctx, nil, "s", nil)
			return err
		}, arg("topics")},
		{"comma in topic list", func() error {
			_, err := client.NewMultiTopicConsumer(ctx, []string{"a,b"}, "s", nil)
			return err
		}, arg("topics")},
		{"bad pattern", func() error {
			_, err := client.NewPatternConsumer(ctx, "public/default/(", "s", nil)
			return err
		}, arg("topics pattern")},
		{"negative reader queue", func() error {
			_, err := client.NewReader(ctx, topic, &stargate.ReaderOptions{ReceiverQueueSize: -1})
			return err
		}, arg("ReaderOptions.ReceiverQueueSize")},
		{"http service URL", func() error { _, err := stargate.NewClient("http://localhost:8080", nil); return err }, arg("service URL")},
		{"token with Bearer prefix", func() error {
			_, err := stargate.NewClient(srv.URL(), &stargate.ClientOptions{Token: "Bearer abc"})
			return err
		}, arg("ClientOptions.Token")},
		{"negative reconnect delay", func() error {
			_, err := stargate.NewClient(srv.URL(), &stargate.ClientOptions{ReconnectDelay: -1})
			return err
		}, arg("ClientOptions.ReconnectDelay")},
		{"negative max message size", func() error {
			_, err := stargate.NewClient(srv.URL(), &stargate.ClientOptions{MaxMessageSize: -1})
			return err
		}, arg("ClientOptions.MaxMessageSize")},
		{"keepalive of 1ns", func() error {
			_, err := stargate.NewClient(srv.URL(), &stargate.ClientOptions{KeepAlive: time.Nanosecond})
			return err
		}, arg("ClientOptions.KeepAlive")},
		{"payload over the frame limit", func() error { return send(stargate.Message{Payload: make([]byte, 4000)}) }, arg("Message.Payload")},
		{"invalid UTF-8 key", func() error { return send(stargate.Message{Key: "\xff"}) }, arg("Message.Key")},
		{"invalid UTF-8 property", func() error {
			return send(stargate.Message{Properties: map[string]string{"k": "\xfe"}})
		}, arg("Message.Properties")},
		{"negative delay", func() error { return send(stargate.Message{DeliverAfter: -time.Second}) }, arg("Message.DeliverAfter")},
		{"empty replication cluster", func() error { return send(stargate.Message{ReplicationClusters: []string{""}}) }, arg("Message.ReplicationClusters")},
		{"ack of a zero message", func() error { return stargate.Message{}.Ack(ctx) }, is(stargate.ErrInvalidMessage)},
		{"nack of a hand-built message", func() error {
			return stargate.Message{ID: stargate.MessageID{LedgerID: 1, EntryID: 2}, Payload: []byte("x")}.Nack(ctx)
		}, is(stargate.ErrInvalidMessage)},
		{"ack after close", func() error { return delivered.Ack(ctx) }, is(stargate.ErrClosed)},
		{"send on a closed producer", func() error { _, err := closed.Send(ctx, stargate.Message{}).Wait(ctx); return err }, is(stargate.ErrClosed)},
		{"flush of a closed producer", func() error { return closed.Flush(ctx) }, is(stargate.ErrClosed)},
		{"send with a done ctx", func() error {
			done, cancel := context.WithCancel(ctx)
			cancel()
			_, err := p.Send(done, stargate.Message{Payload: []byte("cancelled")}).Wait(done)
			return err
		}, is(context.Canceled)},
		{"bad message ID", func() error { _, err := stargate.ParseMessageID("not-an-id"); return err }, arg("message ID")},
		{"one-shot send to a bad topic", func() error {
			_, err := client.Produce(ctx, "a/b", nil, stargate.Message{})
			return err
		}, arg("topic")},
		{"one-shot send with bad options", func() error {
			_, err := client.Produce(ctx, topic, &stargate.ProducerOptions{MaxPendingMessages: 5}, stargate.Message{})
			return err
		}, arg("ProducerOptions.MaxPendingMessages")},
		{"batch of zero", func() error {
			for _, err := range cons.Batches(ctx, 0, time.Second) {
				return err
			}
			return nil
		}, arg("batch")},
	} {
		before, _ := srv.Stats(topic)
		err := tc.run()
		if !tc.ok(err) {
			t.Errorf("%s: got %v", tc.name, err)
		}
		after, _ := srv.Stats(topic)
		if after.MsgIn != before.MsgIn {
			t.Errorf("%s: %d messages reached the broker", tc.name, after.MsgIn-before.MsgIn)
		}
		// The live producer and consumer still work.
		if _, err := p.Send(ctx, stargate.Message{Payload: []byte(tc.name)}).Wait(ctx); err != nil {
			t.Fatalf("%s: live producer broken: %v", tc.name, err)
		}
		for m, err := range cons.Messages(ctx) {
			if err != nil || string(m.Payload) != tc.name {
				t.Fatalf("%s: live consumer broken: %q %v", tc.name, m.Payload, err)
			}
			_ = m.Ack(ctx)
			break
		}
	}
}

func TestConcurrentRangeAndDoubleWait(t *testing.T) {
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, _ := stargate.NewClient(srv.URL(), nil)
	c, err := client.NewConsumer(ctx, "t", "s", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	started := make(chan struct{})
	var wg sync.WaitGroup
	rctx, stop := context.WithCancel(ctx)
	wg.Go(func() {
		close(started)
		for range c.Messages(rctx) {
		}
	})
	<-started
	time.Sleep(50 * time.Millisecond)
	for _, err := range c.Messages(ctx) {
		if !errors.Is(err, stargate.ErrConcurrentIteration) {
			t.Fatalf("second range: %v", err)
		}
	}
	stop()
	wg.Wait()

	p, _ := client.NewProducer(ctx, "t", nil)
	defer p.Close()
	f := p.Send(ctx, stargate.Message{Payload: []byte("x")})
	id1, err1 := f.Wait(ctx)
	id2, err2 := f.Wait(ctx)
	if err1 != nil || err2 != nil || id1 != id2 {
		t.Fatalf("waiting twice: %v %v / %v %v", id1, err1, id2, err2)
	}
	// After the range ended, ranging again works: it resumes.
	got := 0
	for m, err := range c.Messages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		_ = m.Ack(ctx)
		got++
		break
	}
	if got != 1 {
		t.Fatal("ranging again after a concurrent range did not resume")
	}
}
