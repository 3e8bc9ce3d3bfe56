package integration

import (
	"context"
	"fmt"
	"iter"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/dockertest"
)

// The cluster columns of the fault matrix (issue 16): the same handles,
// invariants and counting as TestFaultMatrix, against the dockertest
// cluster variant — two brokers with the WebSocket service, the
// standalone WebSocket proxy in front, one bookie, ZooKeeper. Each cell
// has a namespace of its own with a single bundle, so one owner serves
// all its topics and one bundle unload moves them all.
//
// The tests need a running cluster (`pulsar up --variants cluster`, its
// state file in STARGATE_PULSAR_STATE): without one they skip, or fail
// under CI=true. scripts/test-all runs them as a group of their own
// (-run TestCluster) and skips them (-skip TestCluster) everywhere else.

const (
	// no fault: the handle connects through the WebSocket proxy
	faultViaProxy faultKind = "via-proxy"
	// no fault: the handle connects straight to the broker that does not
	// own the topic (its WebSocket service looks the topic up)
	faultViaNonOwner faultKind = "via-non-owner"
	// the namespace bundle is unloaded with destinationBroker = the other
	// broker, and the cell waits until a lookup names the new owner
	faultMove faultKind = "move"
	// kill -9 of broker 1, which owns the topic and holds the handle's
	// WebSocket (service URL "ws://broker1,ws://broker2"); not restarted
	// until the column is over
	faultBrokerKill faultKind = "broker-kill"
	// the WebSocket proxy is stopped and started again on its port
	faultProxyRestart faultKind = "proxy-restart"

	clusterWorkers = 4 // cells at once in the columns without a shared fault
)

func init() {
	faultsPlanned[faultViaProxy] = 0
	faultsPlanned[faultViaNonOwner] = 0
	faultsPlanned[faultMove] = 2
	faultsPlanned[faultBrokerKill] = 1
	faultsPlanned[faultProxyRestart] = 1
}

// clusterRows is the representative set of handles each cluster column
// runs (the kill column's of TestFaultMatrix): every handle kind, every
// subscription type, push and pull, durable and non-durable, readers from
// each start, both topic shapes.
func clusterRows() []cellSpec { return killCells() }

// clusterCell is a cell's view of the cluster.
type clusterCell struct {
	cl    *dockertest.PulsarCluster
	moves []string // "broker1→broker2 in 1.2s"
}

// ownerOf returns the index of the broker owning the cell's topics.
func (cc *clusterCell) ownerOf(c *cell) (int, error) {
	tp := c.topics[0]
	if c.spec.partitioned {
		tp += "-partition-0"
	}
	id, err := c.admin.Owner(c.ctx, tp)
	if err != nil {
		return -1, err
	}
	i := cc.cl.BrokerIndex(id)
	if i < 0 {
		return -1, fmt.Errorf("owner %q of %s is none of %v", id, tp, cc.cl.BrokerIDs)
	}
	return i, nil
}

// moveTo unloads the cell's bundle towards broker to and waits until a
// lookup names it; an unload the load manager placed elsewhere is done
// again. It fails when the owner did not become to within 90 s.
func (cc *clusterCell) moveTo(c *cell, to int) error {
	start := time.Now()
	from, err := cc.ownerOf(c)
	if err != nil {
		return err
	}
	if from == to {
		return nil
	}
	var last error
	for time.Since(start) < 90*time.Second {
		if err := c.admin.UnloadBundle(c.ctx, c.namespace, dockertest.FullBundle, cc.cl.BrokerIDs[to]); err != nil {
			last = err
		} else if now, err := cc.ownerOf(c); err != nil {
			last = err
		} else if now == to {
			cc.moves = append(cc.moves, fmt.Sprintf("broker%d→broker%d in %v", from+1, to+1, time.Since(start).Round(100*time.Millisecond)))
			return nil
		} else {
			last = fmt.Errorf("owner still broker%d", now+1)
		}
		select {
		case <-c.ctx.Done():
			return c.ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return fmt.Errorf("moving %s to broker%d: %v", c.namespace, to+1, last)
}

// move is the faultMove fault: ownership to the other broker.
func (cc *clusterCell) move(c *cell) error {
	from, err := cc.ownerOf(c)
	if err != nil {
		return err
	}
	return cc.moveTo(c, 1-from)
}

// runClusterCell is runCell for a cluster column.
func runClusterCell(t *testing.T, spec cellSpec, cl *dockertest.PulsarCluster, k *killer, report func(cellSpec, string)) {
	c := &cell{t: t, spec: spec, k: k, tl: newTally(), started: time.Now(), sub: "sub"}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	c.ctx = ctx
	if k != nil {
		defer func() { k.leave(c.arrived) }()
	}
	c.cluster = &clusterCell{cl: cl}
	// Admin calls go to broker 2, which no column kills (a non-owner
	// redirects them to the owner).
	c.admin = cl.Admin(1)
	c.namespace = "public/" + dockertest.UniqueName(t)
	if err := c.admin.CreateNamespaceBundles(ctx, c.namespace, 1); err != nil {
		t.Fatalf("creating namespace %s: %v", c.namespace, err)
	}
	c.makeTopics()
	owner, err := c.cluster.ownerOf(c)
	if err != nil {
		t.Fatalf("owner: %v", err)
	}
	both := strings.Join(cl.BrokerWS, ",")
	directURL, faultURL := both, cl.ProxyURL
	switch spec.fault {
	case faultViaNonOwner:
		directURL, faultURL = cl.ProxyURL, cl.BrokerWS[1-owner]
	case faultMove:
		directURL, faultURL = cl.ProxyURL, both
	case faultBrokerKill:
		// broker 1 owns the topics and holds the handle's connection
		if err := c.cluster.moveTo(c, 0); err != nil {
			t.Fatal(err)
		}
		owner = 0
		directURL, faultURL = cl.BrokerWS[1], both
	}
	c.notes = append(c.notes, fmt.Sprintf("owner broker%d, handle via %s", owner+1, faultURLName(cl, faultURL)))
	c.started = time.Now() // not counting the setup
	if c.direct, err = stargate.NewClient(directURL, nil); err != nil {
		t.Fatal(err)
	}
	opts := &stargate.ClientOptions{ReconnectDelay: 50 * time.Millisecond, MaxReconnectDelay: time.Second, DialTimeout: 5 * time.Second}
	if c.faulty, err = stargate.NewClient(faultURL, opts); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if len(c.cluster.moves) > 0 {
			c.notes = append(c.notes, "moved "+strings.Join(c.cluster.moves, ", "))
		}
		c.report(report)
	}()
	switch spec.kind {
	case kindProducer:
		c.runProducer()
	default:
		c.runConsumerLike()
	}
}

func faultURLName(cl *dockertest.PulsarCluster, u string) string {
	switch u {
	case cl.ProxyURL:
		return "the proxy"
	case cl.BrokerWS[0]:
		return "broker1"
	case cl.BrokerWS[1]:
		return "broker2"
	}
	return "broker1,broker2"
}

// runClusterColumns runs the cells of the given columns: with k nil at
// most clusterWorkers at a time; with k, every cell at once, k firing the
// column's one shared fault when all have arrived. It logs the markdown
// table of docs/guarantees.md.
func runClusterColumns(t *testing.T, cl *dockertest.PulsarCluster, k *killer, faults ...faultKind) {
	start := time.Now()
	var cells []cellSpec
	for _, f := range faults {
		for _, r := range clusterRows() {
			r.fault = f
			cells = append(cells, r)
		}
	}
	var tableMu sync.Mutex
	table := map[string]string{}
	report := func(c cellSpec, row string) {
		tableMu.Lock()
		table[c.name()] = row
		tableMu.Unlock()
	}
	var wg sync.WaitGroup
	if k != nil {
		for _, c := range cells {
			k.launch()
			wg.Go(func() {
				ran := false
				t.Run(c.name(), func(t *testing.T) {
					ran = true
					runClusterCell(t, c, cl, k, report)
				})
				if !ran {
					k.skip()
				}
			})
		}
	} else {
		queue := make(chan cellSpec)
		for range clusterWorkers {
			wg.Go(func() {
				for c := range queue {
					t.Run(c.name(), func(t *testing.T) { runClusterCell(t, c, cl, nil, report) })
				}
			})
		}
		for _, c := range cells {
			queue <- c
		}
		close(queue)
	}
	wg.Wait()
	if t.Failed() {
		t.Logf("the cluster's logs:\n%s", cl.LogTail(40))
	}
	var b strings.Builder
	b.WriteString("\n| handle | topic | fault | result | sent | acked | received | duplicates | lost | ack errors | order | faults | max Close | elapsed |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range cells {
		if row, ok := table[c.name()]; ok {
			b.WriteString(row + "\n")
		}
	}
	t.Logf("cluster columns %v: %d cells in %v%s", faults, len(table), time.Since(start).Round(time.Second), b.String())
}

// TestClusterConnect: every handle through the WebSocket proxy, and
// straight to the broker that does not own its topic.
func TestClusterConnect(t *testing.T) {
	checkLeaks(t)
	cl := dockertest.RequireCluster(t)
	runClusterColumns(t, cl, nil, faultViaProxy, faultViaNonOwner)
}

// TestClusterOwnershipMoves: topic unloads (through the proxy) and
// namespace bundle moves to the other broker (service URL listing both
// brokers) while producing and consuming.
func TestClusterOwnershipMoves(t *testing.T) {
	checkLeaks(t)
	cl := dockertest.RequireCluster(t)
	runClusterColumns(t, cl, nil, faultUnload, faultMove)
}

// TestClusterBrokerKill: broker 1 owns every cell's topics and holds the
// handles' connections; once all cells made progress it is killed (kill
// -9) and the handles must carry on through broker 2. It is restarted
// when the column is over.
func TestClusterBrokerKill(t *testing.T) {
	checkLeaks(t)
	cl := dockertest.RequireCluster(t)
	restart := func() {
		if cl.BrokerAlive(0) {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		start := time.Now()
		if err := cl.Restart(ctx, 0); err != nil {
			t.Errorf("restarting broker1: %v\n%s", err, cl.LogTail(30))
			return
		}
		t.Logf("broker1 restarted in %v", time.Since(start).Round(100*time.Millisecond))
	}
	restart() // an earlier run may have left it dead
	t.Cleanup(restart)
	k := &killer{logf: t.Logf, what: "broker1 killed", fire: func() error { return cl.Kill(0) }}
	runClusterColumns(t, cl, k, faultBrokerKill)
}

// TestClusterProxyRestart: the WebSocket proxy is stopped and started
// again once all cells made progress through it.
func TestClusterProxyRestart(t *testing.T) {
	checkLeaks(t)
	cl := dockertest.RequireCluster(t)
	k := &killer{logf: t.Logf, what: "proxy restarted", fire: func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		return cl.RestartProxy(ctx)
	}}
	runClusterColumns(t, cl, k, faultProxyRestart)
}

// TestClusterServiceURLs: a service URL list whose first node is down
// (nothing listens) still connects every handle kind through the next one,
// and when no node answers the error names each URL tried.
func TestClusterServiceURLs(t *testing.T) {
	checkLeaks(t)
	cl := dockertest.RequireCluster(t)
	dead := deadAddrs(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	admin := cl.Admin(1)
	topic := dockertest.UniqueTopic(t)
	if err := admin.CreateTopic(ctx, topic); err != nil {
		t.Fatal(err)
	}
	c, err := stargate.NewClient("ws://"+dead[0]+","+cl.ProxyURL+","+cl.BrokerWS[0], &stargate.ClientOptions{DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cons, err := c.NewConsumer(ctx, topic, "sub", &stargate.ConsumerOptions{InitialPosition: stargate.Earliest})
	if err != nil {
		t.Fatalf("NewConsumer past a dead first URL: %v", err)
	}
	defer cons.Close()
	prod, err := c.NewProducer(ctx, topic, nil)
	if err != nil {
		t.Fatalf("NewProducer past a dead first URL: %v", err)
	}
	defer prod.Close()
	r, err := c.NewReader(ctx, topic, &stargate.ReaderOptions{Start: stargate.Earliest})
	if err != nil {
		t.Fatalf("NewReader past a dead first URL: %v", err)
	}
	defer r.Close()
	const n = 20
	for i := range n {
		if _, err := prod.Send(ctx, stargate.Message{Payload: []byte(strconv.Itoa(i))}).Wait(ctx); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	for name, seq := range map[string]func(context.Context) iter.Seq2[stargate.Message, error]{"consumer": cons.Messages, "reader": r.Messages} {
		got := 0
		for m, err := range seq(ctx) {
			if err != nil {
				t.Fatalf("%s after %d: %v", name, got, err)
			}
			if name == "consumer" {
				_ = m.Ack(ctx)
			}
			if got++; got == n {
				break
			}
		}
	}

	none, err := stargate.NewClient("ws://"+dead[0]+",ws://"+dead[1], &stargate.ClientOptions{DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = none.NewProducer(ctx, topic, nil)
	if err == nil {
		t.Fatal("NewProducer with no node up succeeded")
	}
	for _, a := range dead {
		if !strings.Contains(err.Error(), a) {
			t.Errorf("the error does not name %s: %v", a, err)
		}
	}
	t.Logf("with every node down: %v", err)
}

// deadAddrs returns n loopback addresses nothing listens on.
func deadAddrs(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ln.Addr().String())
		ln.Close()
	}
	return out
}
