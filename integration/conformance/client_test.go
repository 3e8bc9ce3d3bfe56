package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
)

// env is one case's stargate client on a target.
type env struct {
	t      *testing.T
	tg     Target
	client *stargate.Client
	ctx    context.Context
}

func newEnv(t *testing.T, tg Target) *env {
	t.Helper()
	c, err := stargate.NewClient(tg.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return &env{t: t, tg: tg, client: c, ctx: ctx}
}

func (e *env) producer(topic string, o *stargate.ProducerOptions) *stargate.Producer {
	e.t.Helper()
	p, err := e.client.NewProducer(e.ctx, topic, o)
	if err != nil {
		e.t.Fatalf("NewProducer(%s): %v", topic, err)
	}
	e.t.Cleanup(func() { p.Close() })
	return p
}

func (e *env) consumer(topic, sub string, o *stargate.ConsumerOptions) *stargate.Consumer {
	e.t.Helper()
	c, err := e.client.NewConsumer(e.ctx, topic, sub, o)
	if err != nil {
		e.t.Fatalf("NewConsumer(%s, %s): %v", topic, sub, err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

func (e *env) reader(topic string, o *stargate.ReaderOptions) *stargate.Reader {
	e.t.Helper()
	r, err := e.client.NewReader(e.ctx, topic, o)
	if err != nil {
		e.t.Fatalf("NewReader(%s): %v", topic, err)
	}
	e.t.Cleanup(func() { r.Close() })
	return r
}

// sendAll sends msgs and waits for every future.
func (e *env) sendAll(p *stargate.Producer, msgs ...stargate.Message) []stargate.MessageID {
	e.t.Helper()
	futs := make([]*stargate.SendFuture, len(msgs))
	for i, m := range msgs {
		futs[i] = p.Send(e.ctx, m)
	}
	ids := make([]stargate.MessageID, len(msgs))
	for i, f := range futs {
		id, err := f.Wait(e.ctx)
		if err != nil {
			e.t.Fatalf("send %d: %v", i, err)
		}
		ids[i] = id
	}
	return ids
}

func payloadMsgs(prefix string, n int) []stargate.Message {
	out := make([]stargate.Message, n)
	for i := range out {
		out[i] = stargate.Message{Payload: []byte(prefix + itoa(i))}
	}
	return out
}

// take takes n messages from seq within waitFor, acking each when ack.
func (e *env) take(seq func(context.Context) func(func(stargate.Message, error) bool), n int, ack bool) []stargate.Message {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, waitFor)
	defer cancel()
	var got []stargate.Message
	if n == 0 {
		return nil
	}
	for m, err := range seq(ctx) {
		if err != nil {
			e.t.Fatalf("after %d of %d messages: %v", len(got), n, err)
		}
		if ack {
			if err := m.Ack(ctx); err != nil {
				e.t.Fatalf("ack: %v", err)
			}
		}
		got = append(got, m)
		if len(got) == n {
			break
		}
	}
	return got
}

func (e *env) receive(c *stargate.Consumer, n int, ack bool) []stargate.Message {
	e.t.Helper()
	return e.take(func(ctx context.Context) func(func(stargate.Message, error) bool) { return c.Messages(ctx) }, n, ack)
}

func (e *env) read(r *stargate.Reader, n int) []stargate.Message {
	e.t.Helper()
	return e.take(func(ctx context.Context) func(func(stargate.Message, error) bool) { return r.Messages(ctx) }, n, false)
}

// none asserts that c delivers nothing within quiet.
func (e *env) none(c *stargate.Consumer) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, quiet)
	defer cancel()
	for m, err := range c.Messages(ctx) {
		if err == nil {
			e.t.Fatalf("unexpected message %q", m.Payload)
		}
		break
	}
}

func strs(ms []stargate.Message) []string {
	var s []string
	for _, m := range ms {
		s = append(s, string(m.Payload))
	}
	return s
}

func contextWithTimeout(e *env, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(e.ctx, d)
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }
