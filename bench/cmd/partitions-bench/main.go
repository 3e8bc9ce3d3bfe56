// Command partitions-bench measures partition-parallel handles: produce and
// consume over 1, 2, 4 and 8 connections on a 4- and an 8-partition topic,
// with the broker's CPU per message (see bench.RunPartitions).
//
//	go run ./bench/cmd/partitions-bench -url ws://127.0.0.1:8080 -broker-pid 1234
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/stargate-go/stargate/bench"
)

func main() {
	var (
		url      = flag.String("url", "", "ws:// base URL of the WebSocket API (its admin API on the same host)")
		pid      = flag.Int("broker-pid", 0, "pid of the broker JVM, for its CPU time (0: not measured)")
		parts    = flag.String("partitions", "4,8", "topic partition counts")
		conns    = flag.String("connections", "1,2,4,8", "connection counts")
		duration = flag.Duration("duration", 5*time.Second, "produce window")
		warmup   = flag.Duration("warmup", time.Second, "produce warm-up")
		backlog  = flag.Int("backlog", 100_000, "messages drained by each consume cell")
		size     = flag.Int("size", 100, "payload bytes")
		window   = flag.Int("window", 1000, "in-flight window per connection, receiver queue")
	)
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "partitions-bench: -url is required")
		os.Exit(2)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	pc := bench.PartitionsConfig{URL: *url, BrokerPID: *pid, Partitions: ints(*parts), Connections: ints(*conns),
		Duration: *duration, Warmup: *warmup, Backlog: *backlog, Size: *size, Window: *window,
		Prefix: "partbench-" + strconv.FormatInt(time.Now().Unix(), 36)}
	rows, err := bench.RunPartitions(ctx, pc, func(r bench.PartitionsRow) {
		fmt.Fprintf(os.Stderr, "%s p=%d c=%d: %.0f msg/s\n", r.Kind, r.Partitions, r.Connections, r.Rate())
	})
	_ = bench.WritePartitions(os.Stdout, rows)
	if err != nil {
		fmt.Fprintln(os.Stderr, "partitions-bench:", err)
		os.Exit(1)
	}
}

func ints(s string) []int {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "partitions-bench: bad count %q\n", f)
			os.Exit(2)
		}
		out = append(out, n)
	}
	return out
}
