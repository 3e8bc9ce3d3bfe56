package integration

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/dockertest"
)

func msgs(n int, prefix string) []stargate.Message {
	out := make([]stargate.Message, n)
	for i := range out {
		out[i] = stargate.Message{Payload: []byte(prefix + strconv.Itoa(i))}
	}
	return out
}

func TestExclusiveConflictIsBusy(t *testing.T) {
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	e.consumer(topic, "sub", nil)
	_, err := e.client.NewConsumer(e.ctx, topic, "sub", nil)
	var ce *stargate.ConnectError
	if !errors.Is(err, stargate.ErrBusy) || !errors.As(err, &ce) || ce.StatusCode != 409 {
		t.Fatalf("second exclusive consumer: %v, want a 409 *ConnectError matching ErrBusy", err)
	}
	if !stargate.IsRetryable(err) {
		t.Error("409 should be retryable")
	}
}

func TestSharedSpreadsAcrossConsumers(t *testing.T) {
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	opts := &stargate.ConsumerOptions{Type: stargate.Shared, ReceiverQueueSize: 10}
	c1 := e.consumer(topic, "sub", opts)
	c2 := e.consumer(topic, "sub", opts)
	p := e.producer(topic, nil)
	const n = 200
	e.sendAll(p, msgs(n, "m")...)

	counts, seen := collect(t, e.ctx, n, c1, c2)
	if counts[0] == 0 || counts[1] == 0 {
		t.Fatalf("shared subscription did not spread: %v", counts)
	}
	if len(seen) != n {
		t.Fatalf("got %d distinct messages, want %d", len(seen), n)
	}
}

// collect ranges over every consumer until n distinct payloads arrived,
// acking each; it returns the count per consumer and the payloads seen
// (delivery is at-least-once: a redelivered copy does not count towards n).
func collect(t *testing.T, ctx context.Context, n int, cs ...*stargate.Consumer) ([]int, map[string]int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	counts := make([]int, len(cs))
	seen := map[string]int{}
	total := 0
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() {
			for m, err := range c.Messages(ctx) {
				if err != nil {
					return
				}
				_ = m.Ack(ctx)
				mu.Lock()
				counts[i]++
				seen[string(m.Payload)]++
				total++
				if len(seen) >= n {
					cancel()
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) < n {
		t.Fatalf("received %d of %d distinct messages: %v", len(seen), n, counts)
	}
	return counts, seen
}

func TestFailoverOneActiveThenTakeover(t *testing.T) {
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	opts := &stargate.ConsumerOptions{Type: stargate.Failover}
	c1 := e.consumer(topic, "sub", opts)
	c2 := e.consumer(topic, "sub", opts)
	// The broker may switch the active consumer up to
	// activeConsumerFailoverDelayTimeMillis (1 s) after the second one joins.
	time.Sleep(1500 * time.Millisecond)
	p := e.producer(topic, nil)
	e.sendAll(p, msgs(20, "a")...)
	counts, _ := collect(t, e.ctx, 20, c1, c2)
	if counts[0] != 0 && counts[1] != 0 {
		t.Fatalf("failover delivered to both consumers: %v", counts)
	}
	active, standby := c1, c2
	if counts[1] > 0 {
		active, standby = c2, c1
	}
	active.Close()
	// The server closes its side asynchronously: wait until the broker has
	// only the standby left, or it may still dispatch to the old one.
	waitConsumers(t, e, topic, "sub", 1)
	e.sendAll(p, msgs(10, "b")...)
	got := e.receive(standby, 10, true, 30*time.Second)
	if string(got[0].Payload) != "b0" {
		t.Fatalf("standby got %q first, want b0", got[0].Payload)
	}
}

func TestKeySharedKeepsKeysOnOneConsumerInOrder(t *testing.T) {
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	opts := &stargate.ConsumerOptions{Type: stargate.KeyShared}
	cs := []*stargate.Consumer{e.consumer(topic, "sub", opts), e.consumer(topic, "sub", opts)}
	p := e.producer(topic, nil)
	const keys, per = 16, 20
	var all []stargate.Message
	for i := range per {
		for k := range keys {
			all = append(all, stargate.Message{Key: "key-" + strconv.Itoa(k), Payload: []byte(strconv.Itoa(i))})
		}
	}
	e.sendAll(p, all...)

	ctx, cancel := context.WithTimeout(e.ctx, 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	owner := map[string]int{}
	next := map[string]int{}
	total := 0
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() {
			for m, err := range c.Messages(ctx) {
				if err != nil {
					return
				}
				_ = m.Ack(ctx)
				mu.Lock()
				if o, ok := owner[m.Key]; ok && o != i {
					t.Errorf("key %s went to consumers %d and %d", m.Key, o, i)
				}
				owner[m.Key] = i
				if want := strconv.Itoa(next[m.Key]); string(m.Payload) != want {
					t.Errorf("key %s: got %s, want %s (out of order)", m.Key, m.Payload, want)
				}
				next[m.Key]++
				if total++; total == keys*per {
					cancel()
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if total != keys*per {
		t.Fatalf("received %d of %d", total, keys*per)
	}
	used := map[int]bool{}
	for _, o := range owner {
		used[o] = true
	}
	if len(used) != 2 {
		t.Logf("all %d keys hashed to one consumer (possible but unlikely)", keys)
	}
}

func TestNackRedeliversWithCount(t *testing.T) {
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	c := e.consumer(topic, "sub", &stargate.ConsumerOptions{Type: stargate.Shared, NackRedeliveryDelay: 200 * time.Millisecond})
	p := e.producer(topic, nil)
	e.sendAll(p, stargate.Message{Payload: []byte("again")})
	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
	defer cancel()
	var counts []int
	for m, err := range c.Messages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		counts = append(counts, m.RedeliveryCount)
		if len(counts) == 3 {
			_ = m.Ack(ctx)
			break
		}
		if err := m.Nack(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(counts) != "[0 1 2]" {
		t.Fatalf("redelivery counts %v, want [0 1 2]", counts)
	}
}

func TestDeadLetterAfterMaxRedeliveries(t *testing.T) {
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	dlq := topic + "-DLQ-custom"
	dlqCons := e.consumer(dlq, "dlq-sub", &stargate.ConsumerOptions{InitialPosition: stargate.Earliest})
	c := e.consumer(topic, "sub", &stargate.ConsumerOptions{
		Type:                stargate.Shared,
		NackRedeliveryDelay: 100 * time.Millisecond,
		DeadLetter:          stargate.DeadLetterPolicy{MaxRedeliveries: 2, Topic: dlq},
	})
	p := e.producer(topic, nil)
	e.sendAll(p, stargate.Message{Payload: []byte("poison"), Key: "pk"})

	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
	defer cancel()
	deliveries := 0
	go func() {
		for m, err := range c.Messages(ctx) {
			if err != nil {
				return
			}
			deliveries++
			_ = m.Nack(ctx)
		}
	}()
	got := e.receive(dlqCons, 1, true, 30*time.Second)
	cancel()
	if string(got[0].Payload) != "poison" {
		t.Fatalf("DLQ got %q", got[0].Payload)
	}
}

func TestDeliverAfterAndAtOnShared(t *testing.T) {
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	c := e.consumer(topic, "sub", &stargate.ConsumerOptions{Type: stargate.Shared})
	p := e.producer(topic, nil)
	start := time.Now()
	e.sendAll(p,
		stargate.Message{Payload: []byte("after"), DeliverAfter: 2 * time.Second},
		stargate.Message{Payload: []byte("at"), DeliverAt: start.Add(3 * time.Second)},
		stargate.Message{Payload: []byte("now")},
	)
	got := e.receive(c, 3, true, 30*time.Second)
	at := map[string]time.Duration{}
	for _, m := range got {
		at[string(m.Payload)] = time.Since(start)
	}
	if string(got[0].Payload) != "now" {
		t.Errorf("first delivered %q, want the undelayed message", got[0].Payload)
	}
	// The broker may deliver up to delayedDeliveryTickTimeMillis (1s by
	// default) early unless isDelayedDeliveryDeliverAtTimeStrict is set.
	if at["after"] < 1000*time.Millisecond {
		t.Errorf("deliver-after 2s arrived after %v", at["after"])
	}
	if at["at"] < 2000*time.Millisecond {
		t.Errorf("deliver-at +3s arrived after %v", at["at"])
	}
}

func TestPullModeWindowWhileLoopStalls(t *testing.T) {
	e := plain(t)
	px := newProxy(t, e.broker.WSURL)
	client, err := stargate.NewClient(px.url(), nil)
	if err != nil {
		t.Fatal(err)
	}
	topic := dockertest.UniqueTopic(t)
	p := e.producer(topic, nil)
	const window = 10
	c, err := client.NewConsumer(e.ctx, topic, "sub", &stargate.ConsumerOptions{
		PullMode: true, PullWindow: window, InitialPosition: stargate.Earliest})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	e.sendAll(p, msgs(100, "m")...)

	// Take three messages, then stall inside the loop body.
	taken := 0
	for m, err := range c.Messages(e.ctx) {
		if err != nil {
			t.Fatal(err)
		}
		_ = m.Ack(e.ctx)
		if taken++; taken == 3 {
			time.Sleep(2 * time.Second)
			break
		}
	}
	if got := px.frames.Load(); got > window || got < 3 {
		t.Fatalf("server sent %d messages while the loop had taken %d; window is %d", got, taken, window)
	}
	// Demand resumes delivery without loss.
	rest := e.receive(c, 97, true, 30*time.Second)
	if string(rest[0].Payload) != "m3" || string(rest[96].Payload) != "m99" {
		t.Fatalf("after resuming got %q..%q", rest[0].Payload, rest[96].Payload)
	}
	if got := px.frames.Load(); got != 100 {
		t.Fatalf("server sent %d messages in all, want 100", got)
	}
}

func TestBreakThenRangeAgainResumes(t *testing.T) {
	for _, pull := range []bool{false, true} {
		t.Run("pull="+strconv.FormatBool(pull), func(t *testing.T) {
			e := plain(t)
			topic := dockertest.UniqueTopic(t)
			c := e.consumer(topic, "sub", &stargate.ConsumerOptions{PullMode: pull})
			p := e.producer(topic, nil)
			e.sendAll(p, msgs(30, "m")...)
			var got []string
			for round := 0; len(got) < 30 && round < 10; round++ {
				for _, m := range e.receive(c, min(7, 30-len(got)), true, 20*time.Second) {
					got = append(got, string(m.Payload))
				}
			}
			for i, g := range got {
				if g != "m"+strconv.Itoa(i) {
					t.Fatalf("message %d is %s: %v", i, g, got)
				}
			}
			e.none(c, 500*time.Millisecond)
		})
	}
}

func TestUnsubscribeDeletesSubscription(t *testing.T) {
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	c := e.consumer(topic, "gone", nil)
	e.consumer(topic, "kept", nil)
	if err := c.Unsubscribe(e.ctx); err != nil {
		t.Fatal(err)
	}
	subs, err := e.admin.Subscriptions(e.ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(subs) != "[kept]" {
		t.Fatalf("subscriptions after unsubscribe: %v", subs)
	}
	if _, err := c.IsEndOfTopic(e.ctx); !errors.Is(err, stargate.ErrClosed) {
		t.Fatalf("consumer after unsubscribe: %v, want ErrClosed", err)
	}
}

func TestEndOfTopicAfterTerminate(t *testing.T) {
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	c := e.consumer(topic, "sub", nil)
	p := e.producer(topic, nil)
	e.sendAll(p, msgs(3, "m")...)
	e.receive(c, 3, true, 20*time.Second)
	if eot, err := c.IsEndOfTopic(e.ctx); err != nil || eot {
		t.Fatalf("before terminate: %v %v", eot, err)
	}
	if _, err := e.admin.TerminateTopic(e.ctx, topic); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		eot, err := c.IsEndOfTopic(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if eot {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("IsEndOfTopic stayed false after terminate")
		}
		time.Sleep(200 * time.Millisecond)
	}
	_, err := p.Send(e.ctx, stargate.Message{Payload: []byte("late")}).Wait(e.ctx)
	var se *stargate.SendError
	if !errors.As(err, &se) {
		t.Fatalf("send to a terminated topic: %v, want *SendError", err)
	}
}

func TestMultiTopicListAndPattern(t *testing.T) {
	e := plain(t)
	base := dockertest.UniqueName(t)
	topics := []string{"public/default/" + base + "-a", "public/default/" + base + "-b"}
	for i, tp := range topics {
		e.sendAll(e.producer(tp, nil), msgs(5, strconv.Itoa(i)+"-")...)
	}
	early := &stargate.ConsumerOptions{InitialPosition: stargate.Earliest}
	list, err := e.client.NewMultiTopicConsumer(e.ctx, topics, "list", early)
	if err != nil {
		t.Fatal(err)
	}
	defer list.Close()
	pattern, err := e.client.NewPatternConsumer(e.ctx, "persistent://public/default/"+base+"-.*", "pattern", early)
	if err != nil {
		t.Fatal(err)
	}
	defer pattern.Close()
	for name, c := range map[string]*stargate.Consumer{"list": list, "pattern": pattern} {
		got := e.receive(c, 10, true, 30*time.Second)
		seen := map[string]bool{}
		for _, m := range got {
			seen[string(m.Payload)] = true
			if !m.Topic.IsZero() {
				t.Errorf("%s: v3 message claims topic %v", name, m.Topic)
			}
		}
		if len(seen) != 10 {
			t.Errorf("%s: %d distinct messages, want 10", name, len(seen))
		}
	}
}

func waitConsumers(t *testing.T, e *env, topic, sub string, want int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := e.admin.TopicStats(e.ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(st.Subscriptions[sub].Consumers); got == want {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("subscription %s has %d consumers, want %d", sub, got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
