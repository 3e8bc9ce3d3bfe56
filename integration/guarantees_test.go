package integration

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/dockertest"
)

// These tests pin down single findings of the guarantees work (issue 10),
// each against the real broker; the fault matrix covers the same ground
// broadly.

// proxiedClient returns a client that reaches the plain broker through a
// relay that the test can cut.
func proxiedClient(t *testing.T, e *env) (*stargate.Client, *proxy) {
	t.Helper()
	px := newProxy(t, e.broker.WSURL)
	c, err := stargate.NewClient(px.url(), &stargate.ClientOptions{
		ReconnectDelay: 20 * time.Millisecond, MaxReconnectDelay: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c, px
}

// TestReaderPartitionedSurvivesCut: a reader on a partitioned topic resumes
// after a cut (the server refuses a message ID as the start of a
// partitioned reader) and yields every message once.
func TestReaderPartitionedSurvivesCut(t *testing.T) {
	checkLeaks(t)
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	if err := e.admin.CreatePartitionedTopic(e.ctx, topic, 3); err != nil {
		t.Fatal(err)
	}
	p := e.producer(topic, &stargate.ProducerOptions{RoutingMode: stargate.RoutingRoundRobin})
	e.sendAll(p, msgs(600, "m")...)

	client, px := proxiedClient(t, e)
	r, err := client.NewReader(e.ctx, topic, &stargate.ReaderOptions{Start: stargate.Earliest, ReceiverQueueSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(e.ctx, 90*time.Second)
	defer cancel()
	seen := map[string]int{}
	n := 0
	for m, err := range r.Messages(ctx) {
		if err != nil {
			t.Fatalf("after %d of 600: %v", n, err)
		}
		seen[string(m.Payload)]++
		if n++; n == 100 || n == 300 {
			px.cut()
		}
		if len(seen) == 600 {
			break
		}
	}
	for k, c := range seen {
		if c != 1 {
			t.Errorf("%s yielded %d times", k, c)
		}
	}
	t.Logf("read %d messages, %d distinct, across 2 cuts", n, len(seen))
}

// TestReaderLatestKeepsQueuedAcrossCut: messages a default (Latest) reader
// has received but not yet yielded survive a cut.
func TestReaderLatestKeepsQueuedAcrossCut(t *testing.T) {
	checkLeaks(t)
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	p := e.producer(topic, nil)
	client, px := proxiedClient(t, e)
	r, err := client.NewReader(e.ctx, topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	e.sendAll(p, msgs(3, "before")...)
	// Wait until the three have crossed the relay (server frames counted).
	waitFor(t, 20*time.Second, "3 frames delivered to the reader", func() bool { return px.frames.Load() >= 3 })
	px.cut()
	e.sendAll(p, msgs(1, "after")...)
	got := readN(t, e, r, 4)
	want := []string{"before0", "before1", "before2", "after0"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("read %v, want %v", got, want)
	}
}

// TestAckDuringCutsNeverFails: Ack on a connection that is being lost
// returns nil (the broker redelivers), so the README's loop, which returns
// on an Ack error, survives reconnects.
func TestAckDuringCutsNeverFails(t *testing.T) {
	checkLeaks(t)
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	client, px := proxiedClient(t, e)
	c, err := client.NewConsumer(e.ctx, topic, "sub", &stargate.ConsumerOptions{Type: stargate.Shared})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := e.producer(topic, nil)
	const n = 3000
	futs := make([]*stargate.SendFuture, n)
	for i := range futs {
		futs[i] = p.Send(e.ctx, stargate.Message{Payload: []byte(strconv.Itoa(i))})
	}
	for _, f := range futs {
		if _, err := f.Wait(e.ctx); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(e.ctx, 3*time.Minute)
	defer cancel()
	seen := map[string]bool{}
	deliveries, ackErrs, cuts := 0, 0, 0
	for m, err := range c.Messages(ctx) {
		if err != nil {
			t.Fatalf("after %d deliveries: %v", deliveries, err)
		}
		deliveries++
		if deliveries%500 == 0 && cuts < 6 {
			px.cut() // while acks of the messages before are still queued
			cuts++
		}
		if err := m.Ack(ctx); err != nil {
			ackErrs++
			t.Logf("ack %d: %v", deliveries, err)
		}
		seen[string(m.Payload)] = true
		if len(seen) == n {
			break
		}
	}
	t.Logf("deliveries=%d distinct=%d cuts=%d ackErrors=%d", deliveries, len(seen), cuts, ackErrs)
	if cuts < 5 {
		t.Errorf("only %d cuts", cuts)
	}
	if ackErrs != 0 {
		t.Errorf("%d Ack calls failed during connection loss; want none", ackErrs)
	}
}

// TestRepliesNotStuckBehindMessages: acking a message twice frees a second
// slot of the server's push window, so the server sends more than the
// receive queue holds. The read goroutine must keep reading: a reply to
// IsEndOfTopic arrives although the loop takes nothing.
func TestRepliesNotStuckBehindMessages(t *testing.T) {
	checkLeaks(t)
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	client, px := proxiedClient(t, e)
	c, err := client.NewConsumer(e.ctx, topic, "sub", &stargate.ConsumerOptions{ReceiverQueueSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := e.producer(topic, nil)
	e.sendAll(p, msgs(100, "m")...)
	ctx, cancel := context.WithTimeout(e.ctx, 20*time.Second)
	defer cancel()
	n := 0
	for m, err := range c.Messages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		for range 4 {
			if err := m.Ack(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if n++; n == 10 {
			break
		}
	}
	// The server now believes 40 slots are free and sends 30 more than
	// the 10-message queue holds.
	qctx, qcancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer qcancel()
	waitFor(t, 20*time.Second, "40 frames delivered", func() bool { return px.frames.Load() >= 40 })
	if _, err := c.IsEndOfTopic(qctx); err != nil {
		t.Fatalf("IsEndOfTopic with a full receive queue (%d frames delivered): %v", px.frames.Load(), err)
	}
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPartitionConsumedDirectlyKeepsItsName: a consumer of one partition
// ("t-partition-2") reports that partition as the message's topic, not
// "t-partition-2-partition-2".
func TestPartitionConsumedDirectlyKeepsItsName(t *testing.T) {
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	if err := e.admin.CreatePartitionedTopic(e.ctx, topic, 3); err != nil {
		t.Fatal(err)
	}
	part := topic + "-partition-2"
	c := e.consumer(part, "sub", &stargate.ConsumerOptions{InitialPosition: stargate.Earliest})
	p := e.producer(part, nil)
	e.sendAll(p, msgs(1, "m")...)
	got := e.receive(c, 1, true, 20*time.Second)
	want, _ := stargate.ParseTopic(part)
	if got[0].Topic != want || got[0].ID.Partition != 2 {
		t.Fatalf("message from %v (partition %d), want %v", got[0].Topic, got[0].ID.Partition, want)
	}
}

// TestReaderPartitionedFromMessageIDIsArgError: the server refuses a
// message ID as the start of a reader on a partitioned topic; NewReader
// says so with an *ArgError naming the option.
func TestReaderPartitionedFromMessageIDIsArgError(t *testing.T) {
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	if err := e.admin.CreatePartitionedTopic(e.ctx, topic, 3); err != nil {
		t.Fatal(err)
	}
	p := e.producer(topic, nil)
	ids := e.sendAll(p, msgs(2, "m")...)
	r, err := e.client.NewReader(e.ctx, topic, &stargate.ReaderOptions{StartMessageID: ids[0]})
	var ae *stargate.ArgError
	if !errors.As(err, &ae) || ae.Arg != "ReaderOptions.StartMessageID" {
		if r != nil {
			r.Close()
		}
		t.Fatalf("NewReader from a message ID on a partitioned topic: %v, want an *ArgError for ReaderOptions.StartMessageID", err)
	}
	t.Log(err)
}

// TestReaderStopsAtEndAfterCut: a StopAtEndOfTopic reader whose connection
// is cut after it received the last message of a terminated topic still
// ends. (Pulsar 4.0.8 never reports the end to a reader opened right after
// the last message, so the reader must not resume exactly there.)
func TestReaderStopsAtEndAfterCut(t *testing.T) {
	checkLeaks(t)
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	p := e.producer(topic, nil)
	e.sendAll(p, msgs(10, "m")...)
	if _, err := e.admin.TerminateTopic(e.ctx, topic); err != nil {
		t.Fatal(err)
	}
	client, px := proxiedClient(t, e)
	r, err := client.NewReader(e.ctx, topic, &stargate.ReaderOptions{Start: stargate.Earliest, StopAtEndOfTopic: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	waitFor(t, 20*time.Second, "10 frames delivered to the reader", func() bool { return px.frames.Load() >= 10 })
	px.cut()
	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
	defer cancel()
	n := 0
	for _, err := range r.Messages(ctx) {
		if err != nil {
			t.Fatalf("after %d of 10: %v", n, err)
		}
		n++
	}
	if n != 10 {
		t.Fatalf("read %d messages, want 10", n)
	}
}
