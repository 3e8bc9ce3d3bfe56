package bench

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/admin"
)

// This file is the partition-parallel scenario (issue 15, point 2): produce
// and consume 100-byte messages over 1, 2, 4 and 8 connections on a 4- and
// an 8-partition topic, with stargate's own handles, measuring throughput,
// client CPU and the broker's CPU per message. Broker CPU per message is
// what predicts scaling on a broker with more cores than this machine's.
//
// How c connections are made on a topic of p partitions, with the API a
// user would use:
//
//   - c = 1: one handle on the topic's name (the broker's partitioned
//     producer or consumer fans out behind it);
//   - 1 < c < p: c handles on the topic's name (producers), or one consumer
//     with Connections: c on the topic's name (Shared);
//   - c ≥ p: c/p PerPartition producers, or one PerPartition consumer with
//     Connections: c/p (Shared).

// PartitionsConfig configures RunPartitions.
type PartitionsConfig struct {
	URL         string        // ws:// base of the WebSocket API (its admin API on the same host)
	BrokerPID   int           // the broker JVM, for its CPU time; 0: not measured
	Partitions  []int         // topic sizes, e.g. 4 and 8
	Connections []int         // e.g. 1, 2, 4, 8
	Duration    time.Duration // produce window
	Warmup      time.Duration // before the produce window
	Backlog     int           // messages drained by each consume cell
	Size        int           // payload bytes
	Window      int           // MaxInFlight per connection; ReceiverQueueSize
	Prefix      string        // topic name prefix, unique per run
}

// PartitionsRow is one measured cell.
type PartitionsRow struct {
	Kind        string // "produce" or "consume"
	Partitions  int
	Connections int
	How         string // the handles used
	Msgs        int64
	Seconds     float64
	ClientCPU   time.Duration // this process, over the window
	BrokerCPU   time.Duration // the broker JVM, over the window; -1 if not measured
}

// Rate is messages per second.
func (r PartitionsRow) Rate() float64 { return float64(r.Msgs) / r.Seconds }

// perMsg is d per message, in microseconds.
func (r PartitionsRow) perMsg(d time.Duration) string {
	if d < 0 || r.Msgs == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", float64(d.Microseconds())/float64(r.Msgs))
}

// WritePartitions prints rows as a markdown table.
func WritePartitions(w io.Writer, rows []PartitionsRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "| kind\t| partitions\t| connections\t| handles\t| messages\t| seconds\t| msg/s\t| client µs/msg\t| broker µs/msg\t|")
	fmt.Fprintln(tw, "|---\t|---:\t|---:\t|---\t|---:\t|---:\t|---:\t|---:\t|---:\t|")
	for _, r := range rows {
		fmt.Fprintf(tw, "| %s\t| %d\t| %d\t| %s\t| %d\t| %.1f\t| %s\t| %s\t| %s\t|\n", r.Kind, r.Partitions, r.Connections, r.How,
			r.Msgs, r.Seconds, fmtNum(r.Rate()), r.perMsg(r.ClientCPU), r.perMsg(r.BrokerCPU))
	}
	return tw.Flush()
}

// brokerCPU is the broker's CPU time so far, or -1.
func (pc PartitionsConfig) brokerCPU() time.Duration {
	if pc.BrokerPID == 0 {
		return -1
	}
	d, ok := procCPU(pc.BrokerPID)
	if !ok {
		return -1
	}
	return d
}

// RunPartitions runs every cell, produce then consume, and reports each
// row to progress (if not nil) as it is measured.
func RunPartitions(ctx context.Context, pc PartitionsConfig, progress func(PartitionsRow)) ([]PartitionsRow, error) {
	client, err := stargate.NewClient(pc.URL, nil)
	if err != nil {
		return nil, err
	}
	adm, err := admin.New(pc.URL, nil)
	if err != nil {
		return nil, err
	}
	var rows []PartitionsRow
	for _, p := range pc.Partitions {
		for _, kind := range []string{"produce", "consume"} {
			for _, c := range pc.Connections {
				topic := fmt.Sprintf("persistent://public/default/%s-%s-p%d-c%d", pc.Prefix, kind, p, c)
				if err := adm.CreatePartitionedTopic(ctx, topic, p); err != nil {
					return rows, err
				}
				var r PartitionsRow
				if kind == "produce" {
					r, err = pc.produce(ctx, client, topic, p, c)
				} else {
					r, err = pc.consume(ctx, client, adm, topic, p, c)
				}
				if err != nil {
					return rows, fmt.Errorf("%s p=%d c=%d: %w", kind, p, c, err)
				}
				rows = append(rows, r)
				if progress != nil {
					progress(r)
				}
			}
		}
	}
	return rows, nil
}

func (pc PartitionsConfig) payload() []byte {
	b := make([]byte, pc.Size)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

// produce sends as fast as the windows allow, one goroutine per
// connection, for Duration after Warmup.
func (pc PartitionsConfig) produce(ctx context.Context, client *stargate.Client, topic string, p, c int) (PartitionsRow, error) {
	handles, perHandle, how := c, 1, fmt.Sprintf("%d on the name", c)
	o := &stargate.ProducerOptions{RoutingMode: stargate.RoutingRoundRobin, MaxInFlight: pc.Window}
	if c >= p {
		handles, perHandle, how = c/p, p, fmt.Sprintf("%d PerPartition", c/p)
		o.PerPartition = true
	}
	var ps []*stargate.Producer
	defer func() {
		for _, h := range ps {
			_ = h.Close()
		}
	}()
	for range handles {
		h, err := client.NewProducer(ctx, topic, o)
		if err != nil {
			return PartitionsRow{}, err
		}
		ps = append(ps, h)
	}
	sctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	msg := stargate.Message{Payload: pc.payload()}
	for _, h := range ps {
		for range perHandle {
			wg.Go(func() {
				for sctx.Err() == nil {
					h.Send(sctx, msg)
				}
			})
		}
	}
	acked := func() int64 {
		var n int64
		for _, h := range ps {
			n += h.Stats().Acked
		}
		return n
	}
	sleep(ctx, pc.Warmup)
	a0, u0, b0 := acked(), Snapshot(), pc.brokerCPU()
	sleep(ctx, pc.Duration)
	a1, u1, b1 := acked(), Snapshot(), pc.brokerCPU()
	stop()
	wg.Wait()
	r := PartitionsRow{Kind: "produce", Partitions: p, Connections: c, How: how, Msgs: a1 - a0,
		Seconds: u1.When.Sub(u0.When).Seconds(), ClientCPU: u1.CPU - u0.CPU, BrokerCPU: -1}
	if b0 >= 0 && b1 >= 0 {
		r.BrokerCPU = b1 - b0
	}
	return r, ctx.Err()
}

// consume fills a backlog of Backlog messages, then times draining it
// (every message acknowledged) with c connections.
func (pc PartitionsConfig) consume(ctx context.Context, client *stargate.Client, adm *admin.Client, topic string, p, c int) (PartitionsRow, error) {
	const sub = "bench"
	if err := adm.CreateSubscription(ctx, topic, sub, stargate.Earliest); err != nil {
		return PartitionsRow{}, err
	}
	fill, err := client.NewProducer(ctx, topic, &stargate.ProducerOptions{PerPartition: true, RoutingMode: stargate.RoutingRoundRobin,
		Batching: true, MaxInFlight: 5000})
	if err != nil {
		return PartitionsRow{}, err
	}
	msg := stargate.Message{Payload: pc.payload()}
	for range pc.Backlog {
		fill.Send(ctx, msg)
	}
	err = fill.Flush(ctx)
	if s := fill.Stats(); err == nil && s.Acked != int64(pc.Backlog) {
		err = fmt.Errorf("prefill: %d of %d acknowledged", s.Acked, pc.Backlog)
	}
	_ = fill.Close()
	if err != nil {
		return PartitionsRow{}, err
	}
	o := &stargate.ConsumerOptions{Type: stargate.Shared, ReceiverQueueSize: min(pc.Window, 1000)}
	how := "1 on the name"
	switch {
	case c >= p:
		o.PerPartition, o.Connections = true, c/p
		how = fmt.Sprintf("PerPartition, Connections %d", c/p)
	case c > 1:
		o.Connections = c
		how = fmt.Sprintf("Connections %d on the name", c)
	}
	u0, b0 := Snapshot(), pc.brokerCPU()
	cons, err := client.NewConsumer(ctx, topic, sub, o)
	if err != nil {
		return PartitionsRow{}, err
	}
	defer cons.Close()
	var got atomic.Int64
	for m, err := range cons.Messages(ctx) {
		if err != nil {
			return PartitionsRow{}, err
		}
		_ = m.Ack(ctx)
		if got.Add(1) == int64(pc.Backlog) {
			break
		}
	}
	u1, b1 := Snapshot(), pc.brokerCPU()
	r := PartitionsRow{Kind: "consume", Partitions: p, Connections: c, How: how, Msgs: got.Load(),
		Seconds: u1.When.Sub(u0.When).Seconds(), ClientCPU: u1.CPU - u0.CPU, BrokerCPU: -1}
	if b0 >= 0 && b1 >= 0 {
		r.BrokerCPU = b1 - b0
	}
	return r, nil
}

// sleep waits d or until ctx ends: the measured window of a benchmark.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
