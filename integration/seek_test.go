package integration

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/dockertest"
)

// seekVariants runs f against the plain and the token broker: on the token
// broker the admin REST calls of Seek and StartTime must carry the token.
func seekVariants(t *testing.T, f func(t *testing.T, e *env)) {
	for _, v := range []dockertest.Variant{dockertest.Plain, dockertest.Token} {
		t.Run(string(v), func(t *testing.T) {
			b := dockertest.Require(t, v)
			c, err := stargate.NewClient(b.WSURL, &stargate.ClientOptions{Token: b.Token()})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			t.Cleanup(cancel)
			f(t, &env{t: t, broker: b, client: c, admin: b.Admin(), ctx: ctx})
		})
	}
}

func payloads(ms []stargate.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = string(m.Payload)
	}
	return out
}

func wantPayloads(t *testing.T, what string, got []stargate.Message, want ...string) {
	t.Helper()
	if g := payloads(got); fmt.Sprint(g) != fmt.Sprint(want) {
		t.Fatalf("%s: got %v, want %v", what, g, want)
	}
}

func TestSeek(t *testing.T) {
	seekVariants(t, func(t *testing.T, e *env) {
		topic := dockertest.UniqueTopic(t)
		p := e.producer(topic, nil)
		c := e.consumer(topic, "s", &stargate.ConsumerOptions{InitialPosition: stargate.Earliest})
		ids := e.sendAll(p, msgs(5, "m")...)
		time.Sleep(20 * time.Millisecond) // m5 gets a later publish time than m4
		ids = append(ids, e.sendAll(p, msgs(10, "m")[5:]...)...)
		got := e.receive(c, 10, true, 20*time.Second)
		wantPayloads(t, "first pass", got, "m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9")

		// Back to an earlier ID: that message and the ones after it again.
		if err := c.Seek(e.ctx, ids[3]); err != nil {
			t.Fatal(err)
		}
		wantPayloads(t, "after Seek(m3)", e.receive(c, 7, true, 20*time.Second), "m3", "m4", "m5", "m6", "m7", "m8", "m9")
		e.none(c, time.Second)

		// Back to a time: the first message published at or after it.
		if err := c.SeekTime(e.ctx, got[5].PublishTime); err != nil {
			t.Fatal(err)
		}
		wantPayloads(t, "after SeekTime(m5)", e.receive(c, 5, true, 20*time.Second), "m5", "m6", "m7", "m8", "m9")
		e.none(c, time.Second)

		// Back to the start, take two without acking while the rest sits in
		// the client's queue, then forward: the queue from before the seek
		// is not yielded, the skipped messages are not delivered.
		if err := c.SeekTime(e.ctx, got[0].PublishTime.Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		wantPayloads(t, "after SeekTime(before m0)", e.receive(c, 2, false, 20*time.Second), "m0", "m1")
		time.Sleep(200 * time.Millisecond) // let the rest arrive in the queue
		if err := c.Seek(e.ctx, ids[8]); err != nil {
			t.Fatal(err)
		}
		wantPayloads(t, "after Seek(m8)", e.receive(c, 2, true, 20*time.Second), "m8", "m9")
		e.none(c, time.Second)
	})
}

func TestSeekPartitioned(t *testing.T) {
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	if err := e.admin.CreatePartitionedTopic(e.ctx, topic, 3); err != nil {
		t.Fatal(err)
	}
	p := e.producer(topic, &stargate.ProducerOptions{RoutingMode: stargate.RoutingRoundRobin})
	c := e.consumer(topic, "s", &stargate.ConsumerOptions{InitialPosition: stargate.Earliest})
	ids := e.sendAll(p, msgs(9, "m")...)
	first := e.receive(c, 9, true, 20*time.Second)

	// A time before every message: every partition moves back.
	oldest := first[0].PublishTime
	for _, m := range first {
		if m.PublishTime.Before(oldest) {
			oldest = m.PublishTime
		}
	}
	if err := c.SeekTime(e.ctx, oldest); err != nil {
		t.Fatal(err)
	}
	if again := e.receive(c, 9, true, 20*time.Second); len(again) != 9 {
		t.Fatalf("after SeekTime: %d messages, want 9", len(again))
	}
	e.none(c, time.Second)

	// An ID moves only its own partition: the messages of that partition
	// from it on come again.
	target := ids[1]
	want := map[string]bool{}
	for i, id := range ids {
		if id.Partition == target.Partition && id.Compare(target) >= 0 {
			want[fmt.Sprint("m", i)] = true
		}
	}
	if err := c.Seek(e.ctx, target); err != nil {
		t.Fatal(err)
	}
	got := e.receive(c, len(want), true, 20*time.Second)
	for _, m := range got {
		if !want[string(m.Payload)] || m.ID.Partition != target.Partition {
			t.Fatalf("after Seek(%v): got %v (partition %d), want %v", target, payloads(got), m.ID.Partition, want)
		}
	}
	e.none(c, time.Second)
}

func TestSeekUnsupported(t *testing.T) {
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	e.sendAll(e.producer(topic, nil), msgs(1, "m")...)
	v3, err := e.client.NewMultiTopicConsumer(e.ctx, []string{topic, dockertest.UniqueTopic(t) + "-b"}, "s", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer v3.Close()
	nd := e.consumer(topic, "nd", &stargate.ConsumerOptions{Mode: stargate.NonDurable})
	id := stargate.MessageID{LedgerID: 1, EntryID: 0, Partition: -1, BatchIndex: -1}
	if err := v3.Seek(e.ctx, id); !errors.Is(err, stargate.ErrSeekUnsupported) {
		t.Errorf("v3: Seek: %v, want ErrSeekUnsupported", err)
	}
	if err := nd.Seek(e.ctx, id); !errors.Is(err, stargate.ErrSeekUnsupported) {
		t.Errorf("NonDurable: Seek: %v, want ErrSeekUnsupported", err)
	}
	if err := nd.SeekTime(e.ctx, time.Now()); !errors.Is(err, stargate.ErrSeekUnsupported) {
		t.Errorf("NonDurable: SeekTime: %v, want ErrSeekUnsupported", err)
	}
}

func TestReaderStartTime(t *testing.T) {
	seekVariants(t, func(t *testing.T, e *env) {
		topic := dockertest.UniqueTopic(t)
		p := e.producer(topic, nil)
		e.sendAll(p, msgs(5, "a")...)
		time.Sleep(20 * time.Millisecond)
		e.sendAll(p, msgs(5, "b")...)
		all := readN(t, e, e.reader(topic, &stargate.ReaderOptions{Start: stargate.Earliest}), 10)
		if len(all) != 10 {
			t.Fatalf("earliest: %v", all)
		}
		var b0 time.Time
		for m, err := range e.reader(topic, &stargate.ReaderOptions{Start: stargate.Earliest}).Messages(e.ctx) {
			if err != nil {
				t.Fatal(err)
			}
			if string(m.Payload) == "b0" {
				b0 = m.PublishTime
				break
			}
		}

		// Messages before t are excluded, those at and after it included.
		r := e.reader(topic, &stargate.ReaderOptions{StartTime: b0})
		if got := readN(t, e, r, 5); fmt.Sprint(got) != "[b0 b1 b2 b3 b4]" {
			t.Fatalf("from b0's publish time: %v", got)
		}
		// After the last message: what is published next.
		late := e.reader(topic, &stargate.ReaderOptions{StartTime: time.Now().Add(time.Hour)})
		e.sendAll(p, msgs(1, "c")...)
		if got := readN(t, e, late, 1); fmt.Sprint(got) != "[c0]" {
			t.Fatalf("from after the last message: %v", got)
		}
		// On an empty topic: the first message published.
		empty := dockertest.UniqueTopic(t) + "-empty"
		ep := e.producer(empty, nil)
		er := e.reader(empty, &stargate.ReaderOptions{StartTime: time.Now().Add(-time.Hour)})
		e.sendAll(ep, msgs(1, "e")...)
		if got := readN(t, e, er, 1); fmt.Sprint(got) != "[e0]" {
			t.Fatalf("empty topic: %v", got)
		}
	})
}

func TestReaderStartTimeRefused(t *testing.T) {
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	if err := e.admin.CreatePartitionedTopic(e.ctx, topic, 2); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.NewReader(e.ctx, topic, &stargate.ReaderOptions{StartTime: time.Now()})
	if !errors.Is(err, stargate.ErrInvalidArgument) {
		t.Fatalf("partitioned: %v, want an *ArgError", err)
	}
	// One partition can be read from a time.
	part := topic + "-partition-1"
	p := e.producer(part, nil)
	e.sendAll(p, msgs(2, "old")...)
	time.Sleep(20 * time.Millisecond)
	at := time.Now()
	time.Sleep(20 * time.Millisecond)
	e.sendAll(p, msgs(2, "new")...)
	if got := readN(t, e, e.reader(part, &stargate.ReaderOptions{StartTime: at}), 2); fmt.Sprint(got) != "[new0 new1]" {
		t.Fatalf("partition from a time: %v", got)
	}
	for _, o := range []*stargate.ReaderOptions{
		{StartTime: time.Now(), Start: stargate.Earliest},
		{StartTime: time.Now(), StartMessageID: stargate.MessageID{LedgerID: 1, Partition: -1, BatchIndex: -1}},
		{StartTime: time.UnixMilli(-5)},
	} {
		if _, err := e.client.NewReader(e.ctx, topic, o); !errors.Is(err, stargate.ErrInvalidArgument) {
			t.Errorf("%+v: %v, want an *ArgError", o, err)
		}
	}
}

// A v3 consumer of a topic list moves back on every topic by time.
func TestSeekTimeMultiTopic(t *testing.T) {
	e := plain(t)
	a, b := dockertest.UniqueTopic(t)+"-a", dockertest.UniqueTopic(t)+"-b"
	pa, pb := e.producer(a, nil), e.producer(b, nil)
	c, err := e.client.NewMultiTopicConsumer(e.ctx, []string{a, b}, "s", &stargate.ConsumerOptions{InitialPosition: stargate.Earliest})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	e.sendAll(pa, msgs(3, "a")...)
	e.sendAll(pb, msgs(3, "b")...)
	first := e.receive(c, 6, true, 20*time.Second)
	oldest := first[0].PublishTime
	for _, m := range first {
		if m.PublishTime.Before(oldest) {
			oldest = m.PublishTime
		}
	}
	if err := c.SeekTime(e.ctx, oldest); err != nil {
		t.Fatal(err)
	}
	again := map[string]int{}
	for _, m := range e.receive(c, 6, true, 20*time.Second) {
		again[string(m.Payload)]++
	}
	if len(again) != 6 {
		t.Fatalf("after SeekTime: %v, want a0..a2 and b0..b2 once each", again)
	}
	e.none(c, time.Second)
}
