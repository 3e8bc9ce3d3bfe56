package bench

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"
)

// PulsarGo is apache/pulsar-client-go over the binary protocol: SendAsync
// with MaxPendingMessages = cfg.Window (batching is the client's own,
// 1 ms / 1000 messages, like the proxy's), Receive + Ack with
// ReceiverQueueSize = cfg.Window.
var PulsarGo = Client{
	Name: "pulsar-client-go",
	Supports: func(sc Scenario) (bool, string) {
		if sc.Pull {
			return false, "no pull mode (flow is the client's receiver queue)"
		}
		return true, ""
	},
	Start: startPulsarGo,
}

func newPulsarGo(cfg Config) (pulsar.Client, error) {
	if cfg.Service == "" {
		return nil, errors.New("no pulsar:// service URL (-service)")
	}
	return pulsar.NewClient(pulsar.ClientOptions{URL: cfg.Service, Logger: plog.DefaultNopLogger(),
		OperationTimeout: 30 * time.Second, ConnectionTimeout: 10 * time.Second})
}

func pulsarGoProducer(c pulsar.Client, topic string, batching bool, window int) (pulsar.Producer, error) {
	return c.CreateProducer(pulsar.ProducerOptions{
		Topic:                   topic,
		DisableBatching:         !batching,
		BatchingMaxPublishDelay: time.Millisecond,
		BatchingMaxMessages:     1000,
		MaxPendingMessages:      window,
		SendTimeout:             -1,
	})
}

func startPulsarGo(ctx context.Context, cfg Config, sc Scenario, m *Meter) (func(), error) {
	c, err := newPulsarGo(cfg)
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	var closers []func()
	fail := func(err error) (func(), error) {
		for _, f := range closers {
			f()
		}
		c.Close()
		return nil, err
	}
	switch sc.Kind {
	case Produce:
		for i := range sc.Producers {
			p, err := pulsarGoProducer(c, cfg.TopicN(sc, i), sc.Batching, cfg.Window)
			if err != nil {
				return fail(err)
			}
			closers = append(closers, p.Close)
			payload := make([]byte, sc.Size)
			wg.Go(func() { pulsarGoSend(ctx, p, payload, 0, m) })
		}
	case Consume, E2E:
		pos := pulsar.SubscriptionPositionEarliest
		if sc.Kind == E2E {
			pos = pulsar.SubscriptionPositionLatest
		}
		cons, err := c.Subscribe(pulsar.ConsumerOptions{Topic: cfg.Topic, SubscriptionName: cfg.Sub,
			Type: pulsar.Exclusive, SubscriptionInitialPosition: pos, ReceiverQueueSize: cfg.Window})
		if err != nil {
			return fail(err)
		}
		closers = append(closers, cons.Close)
		wg.Go(func() {
			h := m.NewHist()
			for {
				msg, err := cons.Receive(ctx)
				if err != nil {
					return
				}
				d := time.Duration(-1)
				if p := msg.Payload(); sc.Kind == E2E && len(p) >= 8 {
					d = time.Since(time.Unix(0, int64(binary.LittleEndian.Uint64(p))))
				}
				m.Received(h, d)
				if cons.Ack(msg) != nil && ctx.Err() == nil {
					m.Fail()
				}
			}
		})
		if sc.Kind == E2E {
			p, err := pulsarGoProducer(c, cfg.Topic, false, cfg.Window)
			if err != nil {
				return fail(err)
			}
			closers = append(closers, p.Close)
			wg.Go(func() { pulsarGoSend(ctx, p, nil, sc.Rate, &Meter{}) })
		}
	}
	return func() {
		wg.Wait()
		for _, f := range closers {
			f()
		}
		c.Close()
	}, nil
}

func pulsarGoSend(ctx context.Context, p pulsar.Producer, payload []byte, rate int, m *Meter) {
	var mu sync.Mutex // callbacks may come from more than one goroutine
	h := m.NewHist()
	var inflight sync.WaitGroup
	send := func(t time.Time, b []byte) {
		inflight.Add(1)
		p.SendAsync(ctx, &pulsar.ProducerMessage{Payload: b}, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			defer inflight.Done()
			if err != nil {
				if ctx.Err() == nil {
					m.Fail()
				}
				return
			}
			mu.Lock()
			m.Done(h, time.Since(t))
			mu.Unlock()
		})
	}
	if rate <= 0 {
		for ctx.Err() == nil {
			send(time.Now(), payload)
		}
	} else {
		pace(ctx, rate, func(t time.Time) {
			b := make([]byte, 100)
			binary.LittleEndian.PutUint64(b, uint64(t.UnixNano()))
			send(t, b)
		})
	}
	done := make(chan struct{})
	go func() { inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
}

// Prefill writes n messages of size bytes to topic with pulsar-client-go
// (client batching on), the fastest way to build a consume backlog.
func Prefill(ctx context.Context, cfg Config, n, size int) error {
	c, err := newPulsarGo(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: cfg.Topic, BatchingMaxPublishDelay: 5 * time.Millisecond,
		BatchingMaxMessages: 1000, MaxPendingMessages: 10000, SendTimeout: -1})
	if err != nil {
		return err
	}
	defer p.Close()
	payload := make([]byte, size)
	var mu sync.Mutex
	var first error
	for i := 0; i < n && ctx.Err() == nil; i++ {
		p.SendAsync(ctx, &pulsar.ProducerMessage{Payload: payload}, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			if err != nil {
				mu.Lock()
				first = cmp.Or(first, err)
				mu.Unlock()
			}
		})
	}
	if err := p.FlushWithCtx(ctx); err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	return first
}
