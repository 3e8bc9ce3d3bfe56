// Command stargate-bench runs stargate and its peers against one Pulsar
// broker and prints one comparison table.
//
//	go run ./bench/cmd/stargate-bench                       # broker from dockertest
//	go run ./bench/cmd/stargate-bench -url ws://h:8080 -service pulsar://h:6650 -admin http://h:8080
//	go run ./bench/cmd/stargate-bench -scenarios produce-100B,consume-push -clients stargate,pulsar-client-go
//
// Each (client, scenario) pair runs in its own process; see package bench.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/stargate-go/stargate/bench"
	"github.com/stargate-go/stargate/dockertest"
)

func main() {
	var (
		url       = flag.String("url", "", "ws:// base URL of the WebSocket API (default: a broker from dockertest)")
		admin     = flag.String("admin", "", "http:// admin URL (informational; default from dockertest)")
		service   = flag.String("service", "", "pulsar:// URL of the binary protocol (default: serviceURL of the dockertest state)")
		duration  = flag.Duration("duration", 10*time.Second, "measured window per scenario")
		warmup    = flag.Duration("warmup", time.Second, "warm-up excluded from each window")
		window    = flag.Int("window", 1000, "in-flight window / receiver queue")
		prefill   = flag.Int("prefill", 2_000_000, "messages in the consume backlog; every consume row drains all of it")
		drainTO   = flag.Duration("drain-timeout", 5*time.Minute, "longest a consume row may take to drain the backlog")
		scenarios = flag.String("scenarios", "all", "comma-separated scenarios: "+names())
		clients   = flag.String("clients", strings.Join(bench.AllClients, ","), "comma-separated clients")
		home      = flag.String("pulsar-home", "", "Pulsar distribution with bin/pulsar-perf (default: the dockertest cache)")
		markdown  = flag.Bool("markdown", false, "print the table as markdown")
		child     = flag.String("child", "", "internal: run one client in this process and print JSON")
		topic     = flag.String("topic", "", "internal: topic of a child run")
		sub       = flag.String("sub", "", "internal: subscription of a child run")
		brokerPID = flag.Int("broker-pid", 0, "pid of the broker JVM whose CPU is sampled (default: found from the state file or the listening port; -1: none)")
	)
	flag.Parse()
	cfg := bench.Config{URL: *url, Service: *service, Duration: *duration, Warmup: *warmup, Window: *window,
		Prefill: *prefill, Topic: *topic, Sub: *sub, BrokerPID: max(*brokerPID, 0), DrainTimeout: *drainTO}

	if *child != "" {
		c, ok := bench.GoClients[*child]
		sc, ok2 := bench.ScenarioByName(*scenarios)
		if !ok || !ok2 {
			fmt.Fprintf(os.Stderr, "unknown client %q or scenario %q\n", *child, *scenarios)
			os.Exit(2)
		}
		_ = json.NewEncoder(os.Stdout).Encode(bench.RunChild(c, cfg, sc))
		return
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var scs []bench.Scenario
	if *scenarios == "all" {
		scs = bench.Scenarios
	} else {
		for n := range strings.SplitSeq(*scenarios, ",") {
			sc, ok := bench.ScenarioByName(strings.TrimSpace(n))
			if !ok {
				fmt.Fprintf(os.Stderr, "unknown scenario %q (have %s)\n", n, names())
				os.Exit(2)
			}
			scs = append(scs, sc)
		}
	}
	if cfg.URL == "" {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		b, err := dockertest.Start(sctx, dockertest.Options{Logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }})
		cancel()
		if err != nil {
			fmt.Fprintln(os.Stderr, "no broker:", err)
			os.Exit(1)
		}
		defer dockertest.Shutdown()
		cfg.URL, *admin = b.WSURL, b.AdminURL
		if cfg.Service == "" {
			cfg.Service = b.ServiceURL
		}
	}
	if cfg.Service == "" {
		cfg.Service = serviceFromState()
	}
	if *home == "" {
		*home = findPulsarHome()
	}
	if *brokerPID == 0 {
		pid, err := bench.FindBrokerPID(cfg.URL, *admin, cfg.Service)
		if err != nil {
			fmt.Fprintln(os.Stderr, "broker CPU not sampled:", err)
		}
		cfg.BrokerPID = pid
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "broker ws=%s admin=%s service=%s pid=%d pulsar-home=%s; %v per scenario after %v warm-up\n",
		cfg.URL, *admin, cfg.Service, cfg.BrokerPID, *home, cfg.Duration, cfg.Warmup)
	rs := bench.Run(ctx, bench.RunConfig{Config: cfg, Clients: strings.Split(*clients, ","), Scenarios: scs,
		PulsarHome: *home, Self: self, Log: os.Stderr})
	_ = bench.WriteTable(os.Stdout, rs, *markdown)
	fmt.Println()
	_ = bench.WriteRatios(os.Stdout, rs)
}

func names() string {
	var n []string
	for _, s := range bench.Scenarios {
		n = append(n, s.Name)
	}
	return strings.Join(n, ",")
}

// serviceFromState reads the pulsar:// URL from the dockertest state file,
// for a broker given by env (which carries no service URL).
func serviceFromState() string {
	p := os.Getenv("STARGATE_PULSAR_STATE")
	if p == "" {
		return ""
	}
	s, err := dockertest.ReadState(p)
	if err != nil {
		return ""
	}
	return s.Brokers[dockertest.Plain].ServiceURL
}

func findPulsarHome() string {
	dir := dockertest.CacheDir()
	m, _ := filepath.Glob(filepath.Join(dir, "apache-pulsar-*", "bin", "pulsar-perf"))
	if len(m) == 0 {
		return ""
	}
	return filepath.Dir(filepath.Dir(m[len(m)-1]))
}
