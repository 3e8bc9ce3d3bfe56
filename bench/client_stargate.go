package bench

import (
	"context"
	"encoding/binary"
	"sync"
	"time"

	"github.com/stargate-go/stargate"
)

// Stargate is the library under test: Producer.Send futures with a window of
// cfg.Window, Consumer.Messages with Message.Ack.
var Stargate = Client{
	Name:     "stargate",
	Supports: func(Scenario) (bool, string) { return true, "" },
	Start:    startStargate,
}

func startStargate(ctx context.Context, cfg Config, sc Scenario, m *Meter) (func(), error) {
	c, err := stargate.NewClient(cfg.URL, nil)
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	var closers []func() error
	fail := func(err error) (func(), error) {
		for _, f := range closers {
			_ = f()
		}
		return nil, err
	}
	dctx, dcancel := context.WithTimeout(ctx, 30*time.Second)
	defer dcancel()
	switch sc.Kind {
	case Produce:
		for i := range sc.Producers {
			p, err := c.NewProducer(dctx, cfg.TopicN(sc, i), &stargate.ProducerOptions{
				Batching: sc.Batching, MaxInFlight: cfg.Window})
			if err != nil {
				return fail(err)
			}
			closers = append(closers, p.Close)
			payload := make([]byte, sc.Size)
			wg.Go(func() { stargateSend(ctx, p, payload, 0, m) })
		}
	case Consume:
		o := &stargate.ConsumerOptions{InitialPosition: stargate.Earliest, ReceiverQueueSize: cfg.Window}
		if sc.Pull {
			o.PullMode, o.PullWindow, o.ReceiverQueueSize = true, cfg.Window, 0
		}
		cons, err := c.NewConsumer(dctx, cfg.Topic, cfg.Sub, o)
		if err != nil {
			return fail(err)
		}
		closers = append(closers, cons.Close)
		wg.Go(func() { stargateConsume(ctx, cons, false, m) })
	case E2E:
		cons, err := c.NewConsumer(dctx, cfg.Topic, cfg.Sub, &stargate.ConsumerOptions{ReceiverQueueSize: cfg.Window})
		if err != nil {
			return fail(err)
		}
		closers = append(closers, cons.Close)
		p, err := c.NewProducer(dctx, cfg.Topic, &stargate.ProducerOptions{MaxInFlight: cfg.Window})
		if err != nil {
			return fail(err)
		}
		closers = append(closers, p.Close)
		wg.Go(func() { stargateConsume(ctx, cons, true, m) })
		wg.Go(func() { stargateSend(ctx, p, nil, sc.Rate, &Meter{}) })
	}
	return func() {
		wg.Wait()
		for _, f := range closers {
			_ = f()
		}
	}, nil
}

// stargateSend sends payload as fast as the window allows (rate 0) or at
// rate msg/s with a fresh payload carrying its send time (rate > 0, 100 B).
func stargateSend(ctx context.Context, p *stargate.Producer, payload []byte, rate int, m *Meter) {
	type pend struct {
		f *stargate.SendFuture
		t time.Time
	}
	ch := make(chan pend, 4096)
	var wg sync.WaitGroup
	wg.Go(func() {
		h := m.NewHist()
		for x := range ch {
			if _, err := x.f.Wait(ctx); err != nil {
				if ctx.Err() == nil {
					m.Fail()
				}
				continue
			}
			m.Done(h, time.Since(x.t))
		}
	})
	defer wg.Wait()
	defer close(ch)
	if rate <= 0 {
		for ctx.Err() == nil {
			t := time.Now()
			ch <- pend{p.Send(ctx, stargate.Message{Payload: payload}), t}
		}
		return
	}
	pace(ctx, rate, func(t time.Time) {
		b := make([]byte, 100)
		binary.LittleEndian.PutUint64(b, uint64(t.UnixNano()))
		ch <- pend{p.Send(ctx, stargate.Message{Payload: b}), t}
	})
}

// pace calls send rate times a second until ctx is done.
func pace(ctx context.Context, rate int, send func(time.Time)) {
	start := time.Now()
	sent := 0
	for ctx.Err() == nil {
		due := int(time.Since(start).Seconds() * float64(rate))
		for ; sent < due && ctx.Err() == nil; sent++ {
			send(time.Now())
		}
		time.Sleep(time.Millisecond)
	}
}

func stargateConsume(ctx context.Context, cons *stargate.Consumer, e2e bool, m *Meter) {
	h := m.NewHist()
	for msg, err := range cons.Messages(ctx) {
		if err != nil {
			return
		}
		d := time.Duration(-1)
		if e2e && len(msg.Payload) >= 8 {
			d = time.Since(time.Unix(0, int64(binary.LittleEndian.Uint64(msg.Payload))))
		}
		m.Received(h, d)
		if msg.Ack(ctx) != nil && ctx.Err() == nil {
			m.Fail()
		}
	}
}
