package bench

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Kind is what a scenario measures.
type Kind int

const (
	Produce Kind = iota // send as fast as a window of in-flight messages allows
	Consume             // drain a pre-filled backlog, acking every message
	E2E                 // produce at a fixed rate and consume; latency = receive − send
)

// Scenario is one column group of the comparison.
type Scenario struct {
	Name      string
	Kind      Kind
	Size      int  // payload bytes
	Batching  bool // server batching for WS clients; client batching for the binary client
	Producers int  // producers on as many topics (Produce)
	Pull      bool // pull mode (Consume)
	Rate      int  // msg/s (E2E)
}

// Scenarios are all scenarios in table order.
var Scenarios = []Scenario{
	{Name: "produce-100B", Kind: Produce, Size: 100, Producers: 1},
	{Name: "produce-1KiB", Kind: Produce, Size: 1024, Producers: 1},
	{Name: "produce-100B-batch", Kind: Produce, Size: 100, Batching: true, Producers: 1},
	{Name: "produce-1KiB-batch", Kind: Produce, Size: 1024, Batching: true, Producers: 1},
	{Name: "produce-100B-4topics", Kind: Produce, Size: 100, Producers: 4},
	{Name: "consume-push", Kind: Consume, Size: 100},
	{Name: "consume-pull", Kind: Consume, Size: 100, Pull: true},
	{Name: "e2e-5k", Kind: E2E, Size: 100, Rate: 5000},
}

// ScenarioByName returns the named scenario.
func ScenarioByName(name string) (Scenario, bool) {
	for _, s := range Scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

// Config is what every client needs for a run.
type Config struct {
	URL      string        // ws://host:port base of the WebSocket API
	Service  string        // pulsar://host:port of the binary protocol
	Topic    string        // full topic name (Produce: a suffix -i is added per producer when Producers > 1)
	Sub      string        // subscription (Consume, E2E)
	Duration time.Duration // measured window
	Warmup   time.Duration // excluded from the window
	Window   int           // in-flight messages (producers) and receiver queue (consumers)
	Prefill  int           // messages in the consume backlog (Consume rows drain all of them)
	// DrainTimeout bounds a consume row's window (0: 5 minutes).
	DrainTimeout time.Duration
	// BrokerPID is the broker JVM's pid on this machine, whose CPU is sampled
	// over the window (0: not sampled; see FindBrokerPID).
	BrokerPID int
}

func (c Config) drainTimeout() time.Duration {
	if c.DrainTimeout <= 0 {
		return 5 * time.Minute
	}
	return c.DrainTimeout
}

// TopicN returns the topic of producer i.
func (c Config) TopicN(sc Scenario, i int) string {
	if sc.Producers > 1 {
		return fmt.Sprintf("%s-%d", c.Topic, i)
	}
	return c.Topic
}

// Meter counts what the clients of one child do. Goroutines that record
// latencies take their own Histogram from NewHist and record only while On.
type Meter struct {
	on   atomic.Bool
	msgs atomic.Int64
	errs atomic.Int64
	last atomic.Int64 // unix nanos of the last message counted

	// target > 0: consume rows drain a backlog of target messages; the
	// message that reaches it stores its time in drainedAt and closes drained.
	target    int64
	drained   chan struct{}
	drainedAt atomic.Int64

	mu    sync.Mutex
	hists []*Histogram
}

// NewHist returns a histogram owned by the calling goroutine.
func (m *Meter) NewHist() *Histogram {
	h := new(Histogram)
	m.mu.Lock()
	m.hists = append(m.hists, h)
	m.mu.Unlock()
	return h
}

// Done counts one completed message and, while measuring, records d in h
// (h may be nil, d negative to skip).
func (m *Meter) Done(h *Histogram, d time.Duration) {
	m.msgs.Add(1)
	if h != nil && d >= 0 && m.on.Load() {
		h.Record(d)
	}
}

// Received is Done for consumers: it also remembers when the last message
// came, to detect a drained backlog.
func (m *Meter) Received(h *Histogram, d time.Duration) {
	n := m.msgs.Add(1)
	if h != nil && d >= 0 && m.on.Load() {
		h.Record(d)
	}
	now := time.Now().UnixNano()
	m.last.Store(now)
	if m.target > 0 && n == m.target {
		m.drainedAt.Store(now)
		close(m.drained)
	}
}

var nanF = math.NaN()

// Fail counts one failed send.
func (m *Meter) Fail() { m.errs.Add(1) }

// Measuring reports whether the window is open.
func (m *Meter) Measuring() bool { return m.on.Load() }

// Client is one way of talking to Pulsar.
type Client struct {
	Name string
	// Start launches the scenario's goroutines, which run until ctx is done,
	// and returns a function that waits for them and releases everything.
	// It returns errNA (wrapped with a reason) for an unsupported scenario.
	Start func(ctx context.Context, cfg Config, sc Scenario, m *Meter) (wait func(), err error)
	// Supports tells whether the client can run sc, and why not.
	Supports func(sc Scenario) (bool, string)
}

// RunChild runs one client in one scenario in this process: connect, warm
// up, measure for cfg.Duration, tear down.
//
// Consume rows measure differently: the backlog holds exactly cfg.Prefill
// messages (a fresh topic, each client on its own subscription from
// Earliest), the first cfg.Warmup of draining is excluded, and the window
// runs from the end of the warm-up until the last message of the backlog
// arrives. msg/s is then (Prefill − warm-up count) ÷ that time: the consumer
// was never starved, so the rate is neither 0 nor a lower bound. A backlog
// drained during the warm-up, or not drained within cfg.DrainTimeout, is an
// explicit error or note on the row.
func RunChild(c Client, cfg Config, sc Scenario) Result {
	r := Result{Client: c.Name, Scenario: sc.Name, BrokerCPUSeconds: nanF}
	if ok, why := c.Supports(sc); !ok {
		return NA(c.Name, sc.Name, why)
	}
	m := &Meter{}
	drain := sc.Kind == Consume
	if drain {
		if cfg.Prefill <= 0 {
			r.Err = "consume row without a backlog size (-prefill)"
			r.SetLatency(nil)
			return r
		}
		m.target, m.drained = int64(cfg.Prefill), make(chan struct{})
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wait, err := c.Start(ctx, cfg, sc, m)
	if err != nil {
		r.Err = err.Error()
		r.SetLatency(nil)
		return r
	}
	time.Sleep(cfg.Warmup)
	m0, e0 := m.msgs.Load(), m.errs.Load()
	a := Snapshot()
	bcpu := StartBrokerCPU(cfg.BrokerPID)
	m.on.Store(true)
	timedOut := false
	if drain {
		if m0 >= m.target {
			cancel()
			wait()
			r.Err = fmt.Sprintf("the whole backlog of %d messages was drained during the %v warm-up: raise -prefill", m.target, cfg.Warmup)
			r.SetLatency(nil)
			return r
		}
		t := time.NewTimer(cfg.drainTimeout())
		select {
		case <-m.drained:
		case <-t.C:
			timedOut = true
		}
		t.Stop()
	} else {
		time.Sleep(cfg.Duration)
	}
	m1, e1 := m.msgs.Load(), m.errs.Load()
	r.BrokerCPUSeconds = bcpu.Seconds()
	b := Snapshot()
	m.on.Store(false)
	cancel()
	wait()
	r.Fill(a, b)
	r.Msgs, r.Errors = m1-m0, e1-e0
	r.PayloadBytes = r.Msgs * int64(sc.Size)
	var h Histogram
	for _, x := range m.hists {
		h.Merge(x)
	}
	r.SetLatency(&h)
	if drain {
		r.P50, r.P95, r.P99, r.P999 = nanF, nanF, nanF, nanF
		if timedOut {
			r.Note = fmt.Sprintf("backlog not drained within %.1f s: %d of %d after warm-up (rate over a never-starved window)", r.Seconds, m1, m.target)
		} else {
			// the window ends with the backlog's last message, not with the snapshot
			r.Seconds = time.Duration(m.drainedAt.Load() - a.When.UnixNano()).Seconds()
			r.Msgs = m.target - m0
			r.Note = fmt.Sprintf("drained %d (backlog %d − %d in warm-up) in %.2f s", r.Msgs, m.target, m0, r.Seconds)
		}
	}
	return r
}
