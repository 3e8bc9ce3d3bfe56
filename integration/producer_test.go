package integration

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/dockertest"
)

func TestBatchingAcksCarryBatchIndexAndAcksLeaveNoBacklog(t *testing.T) {
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	c := e.consumer(topic, "sub", nil)
	p := e.producer(topic, &stargate.ProducerOptions{Batching: true, BatchingMaxPublishDelay: 50 * time.Millisecond, BatchingMaxMessages: 100})
	ids := e.sendAll(p, msgs(50, "b")...)
	batched := 0
	for _, id := range ids {
		// Pulsar 4.0.8's producer acks carry the batch index but a batch
		// size of 0; consumed messages carry both (checked below).
		if id.BatchIndex >= 0 {
			batched++
		}
	}
	if batched == 0 {
		t.Fatalf("no ack carried a batch index: %#v", ids[:3])
	}
	got := e.receive(c, 50, true, 30*time.Second)
	if got[0].ID.BatchIndex != 0 || got[0].ID.BatchSize < 2 {
		t.Errorf("consumed batched message has ID %#v, size %d", got[0].ID, got[0].ID.BatchSize)
	}
	waitBacklog(t, e, topic, "sub", 0)
}

func waitBacklog(t *testing.T, e *env, topic, sub string, want int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := e.admin.TopicStats(e.ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		got := st.Subscriptions[sub].MsgBacklog
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("backlog of %s is %d, want %d", sub, got, want)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func TestEveryCompressionTypeAccepted(t *testing.T) {
	e := plain(t)
	payload := bytes.Repeat([]byte("compress me "), 100)
	for _, ct := range []stargate.CompressionType{stargate.CompressionNone, stargate.CompressionLZ4,
		stargate.CompressionZLib, stargate.CompressionZSTD, stargate.CompressionSnappy} {
		t.Run(ct.String(), func(t *testing.T) {
			topic := dockertest.UniqueTopic(t)
			c := e.consumer(topic, "sub", nil)
			p := e.producer(topic, &stargate.ProducerOptions{Compression: ct, Batching: true})
			e.sendAll(p, stargate.Message{Payload: payload}, stargate.Message{Payload: []byte("x")})
			got := e.receive(c, 2, true, 20*time.Second)
			if !bytes.Equal(got[0].Payload, payload) {
				t.Fatalf("payload changed through %s", ct)
			}
		})
	}
}

func TestPartitionedRoundRobin(t *testing.T) {
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	if err := e.admin.CreatePartitionedTopic(e.ctx, topic, 3); err != nil {
		t.Fatal(err)
	}
	c := e.consumer(topic, "sub", &stargate.ConsumerOptions{InitialPosition: stargate.Earliest})
	p := e.producer(topic, &stargate.ProducerOptions{RoutingMode: stargate.RoutingRoundRobin})
	ids := e.sendAll(p, msgs(30, "p")...)
	parts := map[int32]int{}
	for _, id := range ids {
		parts[id.Partition]++
	}
	if len(parts) != 3 || parts[-1] != 0 {
		t.Fatalf("partitions in acks: %v, want 0, 1 and 2", parts)
	}
	got := e.receive(c, 30, true, 30*time.Second)
	for _, m := range got {
		want := "-partition-" + strconv.Itoa(int(m.ID.Partition))
		if m.ID.Partition < 0 || len(m.Topic.Name) < len(want) || m.Topic.Name[len(m.Topic.Name)-len(want):] != want {
			t.Fatalf("message %#v has topic %v", m.ID, m.Topic)
		}
	}
}

func TestOneShotProduce(t *testing.T) {
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	c := e.consumer(topic, "sub", nil)
	ids, err := e.client.Produce(e.ctx, topic, nil, msgs(3, "once")...)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 3 || ids[2].IsZero() {
		t.Fatalf("ids %v", ids)
	}
	got := e.receive(c, 3, true, 20*time.Second)
	if string(got[2].Payload) != "once2" {
		t.Fatalf("got %q", got[2].Payload)
	}
}

func TestProducerNameConflictAndSendAfterClose(t *testing.T) {
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	p := e.producer(topic, &stargate.ProducerOptions{Name: "only-one"})
	_, err := e.client.NewProducer(e.ctx, topic, &stargate.ProducerOptions{Name: "only-one"})
	if !errors.Is(err, stargate.ErrBusy) {
		t.Fatalf("duplicate producer name: %v, want ErrBusy", err)
	}
	p.Close()
	if _, err := p.Send(e.ctx, stargate.Message{Payload: []byte("x")}).Wait(e.ctx); !errors.Is(err, stargate.ErrClosed) {
		t.Fatalf("send after close: %v", err)
	}
	if err := p.Flush(e.ctx); !errors.Is(err, stargate.ErrClosed) {
		t.Fatalf("flush after close: %v, want ErrClosed", err) // issue 10: ErrClosed after Close, for every method
	}
}

func TestBadParameterIsBadRequest(t *testing.T) {
	e := plain(t)
	// Every option is validated locally. A topics pattern that compiles as
	// RE2 but not as a Java regular expression ((?P<name>…) is Go's named
	// group syntax) reaches the server, which refuses it with 400 "Invalid
	// query params: Unknown inline modifier".
	_, err := e.client.NewPatternConsumer(e.ctx, "persistent://public/default/(?P<n>x)", "sub", nil)
	if !errors.Is(err, stargate.ErrBadRequest) {
		t.Fatalf("a pattern Java cannot compile: %v, want ErrBadRequest", err)
	}
	var ce *stargate.ConnectError
	if errors.As(err, &ce) && ce.Message == "" {
		t.Errorf("no server message in %v", err)
	}
	t.Log(err)
}

func TestFlushWaitsForAcks(t *testing.T) {
	e := plain(t)
	p := e.producer(dockertest.UniqueTopic(t), nil)
	futs := make([]*stargate.SendFuture, 100)
	for i := range futs {
		futs[i] = p.Send(e.ctx, stargate.Message{Payload: []byte("f")})
	}
	ctx, cancel := context.WithTimeout(e.ctx, 20*time.Second)
	defer cancel()
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for i, f := range futs {
		select {
		case <-f.Done():
		default:
			t.Fatalf("future %d not complete after Flush", i)
		}
		if _, err := f.Wait(ctx); err != nil {
			t.Fatalf("future %d: %v", i, err)
		}
	}
}
