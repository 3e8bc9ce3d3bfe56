// Command pulsar starts and stops the local Pulsar standalone brokers that
// stargate's tests share (see package dockertest).
//
//	go run ./cmd/pulsar up     [--state FILE] [--variants plain,tls,token,cluster]
//	go run ./cmd/pulsar status [--state FILE]
//	go run ./cmd/pulsar down   [--state FILE]
//
// up starts the JVMs detached (they outlive this command), waits until they
// are ready, writes the state file and prints `export STARGATE_PULSAR_STATE=…`.
// The cluster variant (not started by default) is a ZooKeeper, a bookie,
// two brokers and the WebSocket proxy, five JVMs (see dockertest.Cluster).
// The default state file is $STARGATE_PULSAR_STATE, else
// $STARGATE_CACHE/state.json (~/.cache/stargate/state.json).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/stargate-go/stargate/dockertest"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd, args := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	def := os.Getenv(dockertest.EnvState)
	if def == "" {
		def = filepath.Join(dockertest.CacheDir(), "state.json")
	}
	state := fs.String("state", def, "state file")
	variants := fs.String("variants", "plain,tls,token", "variants to start (up only); cluster adds the multi-broker cluster")
	timeout := fs.Duration("timeout", 180*time.Second, "readiness budget per broker (up only)")
	fs.Parse(args)
	abs, err := filepath.Abs(*state)
	if err != nil {
		fail(err)
	}
	*state = abs
	logf := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "pulsar: "+format+"\n", a...) }

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch cmd {
	case "up":
		var vs []dockertest.Variant
		for _, s := range strings.Split(*variants, ",") {
			v, err := dockertest.ParseVariant(s)
			if err != nil {
				fail(err)
			}
			if !slices.Contains(vs, v) {
				vs = append(vs, v)
			}
		}
		t0 := time.Now()
		s, err := dockertest.Up(ctx, dockertest.UpOptions{Variants: vs, StatePath: *state, StartTimeout: *timeout, Logf: logf})
		if err != nil {
			fail(err)
		}
		logf("brokers ready in %s", time.Since(t0).Round(100*time.Millisecond))
		for _, v := range dockertest.Variants {
			bi, ok := s.Brokers[v]
			if !ok {
				continue
			}
			fmt.Printf("# %-5s pid %d  ws %s  wss %s  admin %s\n", v, bi.PID, bi.WSURL, bi.WSSURL, bi.AdminURL)
		}
		if ci := s.Cluster; ci != nil {
			fmt.Printf("# cluster ready after %.1fs: proxy %s", float64(ci.ReadyAfterMillis)/1000, ci.Proxy.WSURL)
			for _, b := range ci.Brokers {
				fmt.Printf("  %s %s", b.Name, b.WSURL)
			}
			fmt.Printf("  zookeeper %s\n", ci.ZooKeeper)
		}
		fmt.Printf("export %s=%s\n", dockertest.EnvState, *state)
	case "down":
		if err := dockertest.Down(*state, 15*time.Second, logf); err != nil {
			if os.IsNotExist(err) {
				logf("no state file %s: nothing to stop", *state)
				return
			}
			fail(err)
		}
		logf("stopped; removed %s", *state)
	case "status":
		res, err := dockertest.Status(ctx, *state)
		if err != nil {
			fail(err)
		}
		s, _ := dockertest.ReadState(*state)
		bad := false
		for _, v := range dockertest.Variants {
			e, ok := res[v]
			if !ok {
				continue
			}
			st := "ready"
			if e != nil {
				st, bad = "NOT READY: "+e.Error(), true
			}
			fmt.Printf("%-5s pid %d  %s  %s\n", v, s.Brokers[v].PID, s.Brokers[v].WSURL, st)
		}
		if e, ok := res[dockertest.Cluster]; ok {
			st := "ready"
			if e != nil {
				st, bad = "NOT READY: "+strings.ReplaceAll(e.Error(), "\n", "; "), true
			}
			fmt.Printf("cluster  proxy %s  %s\n", s.Cluster.Proxy.WSURL, st)
		}
		if bad {
			os.Exit(1)
		}
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: pulsar up|down|status [--state FILE] [--variants plain,tls,token,cluster]")
	os.Exit(2)
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "pulsar: %v\n", err)
	os.Exit(1)
}
