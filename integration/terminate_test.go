package integration

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/dockertest"
)

// TestTerminatedTopicEndsProducers: after an admin terminate, the real
// broker refuses a producer's next send (send-error:8 TopicTerminated), a
// new producer (503) and a producer that reconnects (503). Each refusal
// must end the producer with an error matching ErrTopicTerminated, not
// temporary, instead of a redial or resend loop; consumers and readers on
// the topic keep working across a cut and read to the end.
func TestTerminatedTopicEndsProducers(t *testing.T) {
	checkLeaks(t)
	e := plain(t)
	px := newProxy(t, e.broker.WSURL)
	relayed, err := stargate.NewClient(px.url(), &stargate.ClientOptions{
		ReconnectDelay: 20 * time.Millisecond, MaxReconnectDelay: 200 * time.Millisecond, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	topic := dockertest.UniqueTopic(t)
	p := e.producer(topic, nil)
	idle, err := relayed.NewProducer(e.ctx, topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idle.Close() })
	c, err := relayed.NewConsumer(e.ctx, topic, "sub", &stargate.ConsumerOptions{InitialPosition: stargate.Earliest})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	// Not StopAtEndOfTopic: a reader that resumes right after the last
	// message of a terminated topic never hears "end of topic" from Pulsar
	// 4.0.8 (a reader opened at the last message's ID answers isEndOfTopic
	// false; one opened at the one before answers true), which is the
	// reader's business, not the producer's.
	r, err := relayed.NewReader(e.ctx, topic, &stargate.ReaderOptions{Start: stargate.Earliest})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	e.sendAll(p, msgs(3, "m")...)
	if _, err := idle.Send(e.ctx, stargate.Message{Payload: []byte("m3")}).Wait(e.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.TerminateTopic(e.ctx, topic); err != nil {
		t.Fatal(err)
	}

	// The existing producer's next send.
	_, err = p.Send(e.ctx, stargate.Message{Payload: []byte("late")}).Wait(e.ctx)
	var se *stargate.SendError
	if !errors.As(err, &se) || se.Code != 8 || !errors.Is(err, stargate.ErrTopicTerminated) || stargate.IsRetryable(err) {
		t.Errorf("send after terminate: %v, want a send-error:8 *SendError matching ErrTopicTerminated, not temporary", err)
	} else {
		t.Logf("send after terminate: code %d, message %q", se.Code, se.Msg)
	}
	// Every later send fails at once.
	f := p.Send(e.ctx, stargate.Message{Payload: []byte("later")})
	select {
	case <-f.Done():
	default:
		t.Error("a later Send did not fail at once")
	}
	if _, err := f.Wait(e.ctx); !errors.Is(err, stargate.ErrTopicTerminated) {
		t.Errorf("later send: %v, want ErrTopicTerminated", err)
	}

	// A new producer.
	_, err = e.client.NewProducer(e.ctx, topic, nil)
	var ce *stargate.ConnectError
	if !errors.As(err, &ce) || ce.StatusCode != 503 || !errors.Is(err, stargate.ErrTopicTerminated) || stargate.IsRetryable(err) {
		t.Errorf("new producer: %v, want a 503 *ConnectError matching ErrTopicTerminated, not temporary", err)
	} else {
		t.Logf("new producer: %d %q", ce.StatusCode, ce.Message)
	}

	// A producer that reconnects after the terminate ends with the
	// refusal: its sends fail instead of waiting for a connection forever.
	px.cut()
	var last error
	deadline := time.Now().Add(30 * time.Second)
	for last == nil {
		if time.Now().After(deadline) {
			t.Fatal("the reconnecting producer never ended: its sends wait for a connection forever")
		}
		f := idle.Send(e.ctx, stargate.Message{Payload: []byte("x")})
		select {
		case <-f.Done():
			_, last = f.Wait(e.ctx)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if !errors.As(last, &ce) || ce.StatusCode != 503 || !errors.Is(last, stargate.ErrTopicTerminated) {
		t.Fatalf("send after a reconnect to the terminated topic: %v, want the 503 *ConnectError", last)
	}
	t.Logf("reconnect: %d %q", ce.StatusCode, ce.Message)

	// The consumer and the reader came back through the same cut and read
	// every message; the consumer sees the end of the topic.
	seen := map[string]bool{} // at-least-once: a cut may redeliver
	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
	defer cancel()
	for m, err := range c.Messages(ctx) {
		if err != nil {
			t.Fatalf("consumer after %v: %v", seen, err)
		}
		if err := m.Ack(ctx); err != nil {
			t.Fatalf("ack: %v", err)
		}
		if seen[string(m.Payload)] = true; len(seen) == 4 {
			break
		}
	}
	eot := false
	for deadline := time.Now().Add(30 * time.Second); !eot && time.Now().Before(deadline); {
		if eot, err = c.IsEndOfTopic(e.ctx); err != nil {
			t.Fatal(err)
		}
		if !eot {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !eot {
		t.Error("the consumer never saw the end of the topic")
	}
	var got []string
	for m, err := range r.Messages(ctx) {
		if err != nil {
			t.Fatalf("reader after %v: %v", got, err)
		}
		if got = append(got, string(m.Payload)); len(got) == 4 {
			break
		}
	}
	if !slices.Equal(got, []string{"m0", "m1", "m2", "m3"}) {
		t.Errorf("reader read %v", got)
	}
}
