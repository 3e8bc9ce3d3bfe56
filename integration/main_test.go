// Package integration holds stargate's tests against a real Pulsar broker,
// provided by the dockertest module (see the README's test command). Under
// CI=true a missing broker fails every test; elsewhere they are skipped.
package integration

import (
	"context"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/dockertest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// env is one test's view of the plain broker.
type env struct {
	t      *testing.T
	broker *dockertest.Broker
	client *stargate.Client
	admin  *dockertest.Admin
	ctx    context.Context
}

func plain(t *testing.T) *env {
	t.Helper()
	b := dockertest.Require(t, dockertest.Plain)
	c, err := stargate.NewClient(b.WSURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Minute)
	t.Cleanup(cancel)
	return &env{t: t, broker: b, client: c, admin: b.Admin(), ctx: ctx}
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

// receive takes n messages from c (acking each when ack is true) within d.
func (e *env) receive(c *stargate.Consumer, n int, ack bool, d time.Duration) []stargate.Message {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, d)
	defer cancel()
	var got []stargate.Message
	if n == 0 {
		return nil
	}
	for m, err := range c.Messages(ctx) {
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

// none asserts that c delivers nothing within d.
func (e *env) none(c *stargate.Consumer, d time.Duration) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, d)
	defer cancel()
	for m, err := range c.Messages(ctx) {
		if err == nil {
			e.t.Fatalf("unexpected message %q", m.Payload)
		}
		break
	}
}

// checkLeaks fails t if goroutines started during the test outlive it and
// its cleanups (registered first, so it runs last).
func checkLeaks(t *testing.T) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
}
