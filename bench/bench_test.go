package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stargate-go/stargate/dockertest"
)

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	if h.Quantile(.5) != 0 {
		t.Fatal("empty histogram")
	}
	for i := 1; i <= 100000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{.5, 50 * time.Millisecond}, {.95, 95 * time.Millisecond}, {.99, 99 * time.Millisecond}, {.999, 99900 * time.Microsecond}, {1, 100 * time.Millisecond}} {
		got := h.Quantile(tc.q)
		if rel := math.Abs(float64(got-tc.want)) / float64(tc.want); rel > 0.01 {
			t.Errorf("q%.3f = %v, want %v ±1%%", tc.q, got, tc.want)
		}
	}
	// small values are exact; every value maps into a bucket whose bounds hold it
	for _, v := range []uint64{0, 1, 127, 255, 256, 257, 1000, 1 << 20, 1<<40 + 12345, math.MaxInt64} {
		i := histIndex(v)
		if hi := histUpper(i); hi < v || (i > 0 && histUpper(i-1) >= v) {
			t.Errorf("value %d in bucket %d (upper %d, previous upper %d)", v, i, hi, histUpper(i-1))
		}
	}
	var a, b Histogram
	a.Record(time.Millisecond)
	b.Record(3 * time.Millisecond)
	a.Merge(&b)
	if a.Count() != 2 || a.Quantile(1) != 3*time.Millisecond || a.Quantile(.5) > 1010*time.Microsecond {
		t.Errorf("merge: n=%d max=%v p50=%v", a.Count(), a.Quantile(1), a.Quantile(.5))
	}
	var neg Histogram
	neg.Record(-time.Second)
	if neg.Quantile(.5) != 0 {
		t.Error("negative duration not clamped")
	}
}

func TestTableAndJSON(t *testing.T) {
	r := Result{Client: "stargate", Scenario: "produce-100B", Msgs: 1_000_000, Seconds: 10, PayloadBytes: 100_000_000,
		WireBytes: 200 << 20, CPUSeconds: 0.5, Allocs: 2_000_000, PeakRSS: 30 << 20}
	var h Histogram
	h.Record(2 * time.Millisecond)
	r.SetLatency(&h)
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.P50 != r.P50 || back.CPUSeconds != 0.5 || back.Msgs != r.Msgs {
		t.Errorf("round trip: %+v", back)
	}
	na := NA("pulsar-perf-ws", "consume-push", "no consumer")
	noLat := Result{Client: "x", Scenario: "consume-push", Msgs: 10, Seconds: 1, WireBytes: -1, Allocs: -1, PeakRSS: -1}
	noLat.SetLatency(nil)
	b, _ = json.Marshal(noLat)
	if err := json.Unmarshal(b, &back); err != nil || !math.IsNaN(back.P50) {
		t.Errorf("NaN latency does not survive JSON: %s %v", b, err)
	}
	var out bytes.Buffer
	if err := WriteTable(&out, []Result{r, na, noLat}, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "client") {
		t.Fatalf("table:\n%s", out.String())
	}
	for _, want := range []string{"100000", "9.54", "20.0", "2.00", "0.500", "2.00", "30.0"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("row %q lacks %q", lines[1], want)
		}
	}
	if strings.Count(lines[2], "n/a") != len(Columns)-3 || !strings.Contains(lines[3], "n/a") {
		t.Errorf("n/a rows:\n%s", out.String())
	}
	out.Reset()
	_ = WriteTable(&out, []Result{r}, true)
	if !strings.HasPrefix(out.String(), "| client | scenario |") || strings.Count(out.String(), "\n") != 3 {
		t.Errorf("markdown:\n%s", out.String())
	}
	for v, want := range map[float64]string{0: "0", 0.01234: "0.012", 3.14159: "3.14", 42.42: "42.4", 123456.7: "123457", math.NaN(): "n/a"} {
		if got := fmtNum(v); got != want {
			t.Errorf("fmtNum(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestParsePerfLine(t *testing.T) {
	const line = `2026-11-28T02:09:41,219+0000 [main] INFO  org.apache.pulsar.proxy.socket.client.PerformanceClient - Throughput produced:   35959 msg ---   5171.2  msg/s ---      3.9 Mbit/s --- Latency: mean:  69.816 ms - med:  12.230 ms - 95pct: 286.383 ms - 99pct: 423.863 ms - 99.9pct: 429.713 ms - 99.99pct: 429.761 ms`
	s, ok := ParsePerfLine(line)
	if !ok || s.Count != 35959 || s.Rate != 5171.2 || s.P50 != 12.23 || s.P999 != 429.713 ||
		!s.At.Equal(time.Date(2026, 11, 28, 2, 9, 41, 219e6, time.UTC)) {
		t.Fatalf("parsed %+v %v", s, ok)
	}
	if _, ok := ParsePerfLine("2026-11-28T02:09:42,091+0000 [perf-client-shutdown] INFO Aggregated throughput stats --- 38462 records sent"); ok {
		t.Error("parsed the aggregate line")
	}
	a := s
	a.Count, a.At, a.CPU, a.IO, a.HaveCPU, a.HaveI = 5000, s.At.Add(-10*time.Second), time.Second, 1000, true, true
	s.CPU, s.IO, s.HaveCPU, s.HaveI = 3*time.Second, 1000+100<<20, true, true
	r := perfResult(Result{Client: JavaPerf, Scenario: "produce-100B"}, []PerfSample{a, s})
	if r.Msgs != 30959 || r.Seconds != 10 || r.CPUSeconds != 2 || r.WireBytes != 100<<20 || r.PayloadBytes != 3095900 {
		t.Errorf("perfResult: %+v", r)
	}
}

// TestSmoke runs every Go client for about a second against a real broker
// (skipped without one, outside CI). It checks that each measures something,
// not how much.
func TestSmoke(t *testing.T) {
	b := dockertest.Require(t, dockertest.Plain)
	service := b.ServiceURL
	if service == "" && os.Getenv("STARGATE_PULSAR_STATE") != "" {
		if s, err := dockertest.ReadState(os.Getenv("STARGATE_PULSAR_STATE")); err == nil {
			service = s.Brokers[dockertest.Plain].ServiceURL
		}
	}
	const smokeBacklog = 5000
	base := Config{URL: b.WSURL, Service: service, Duration: time.Second, Warmup: 200 * time.Millisecond, Window: 100,
		Prefill: smokeBacklog, DrainTimeout: 3 * time.Minute}
	produce, _ := ScenarioByName("produce-100B")
	consume, _ := ScenarioByName("consume-push")
	pull, _ := ScenarioByName("consume-pull")
	backlog := dockertest.UniqueTopic(t)
	if service != "" {
		cfg := base
		cfg.Topic = backlog
		if err := Prefill(t.Context(), cfg, smokeBacklog, 100); err != nil {
			t.Fatalf("prefill: %v", err)
		}
	}
	for _, c := range []Client{Stargate, Blaster, Naive, PulsarGo} {
		for _, sc := range []Scenario{produce, consume, pull} {
			t.Run(c.Name+"/"+sc.Name, func(t *testing.T) {
				if ok, why := c.Supports(sc); !ok {
					t.Skip(why)
				}
				if service == "" && (c.Name == PulsarGo.Name || sc.Kind == Consume) {
					t.Skip("no pulsar:// service URL for this broker")
				}
				cfg := base
				// One subscription per client and scenario: the broker releases
				// an Exclusive subscription asynchronously after Close, so a
				// second scenario on the same name can meet 409 "Exclusive
				// consumer is already connected" (failed a CI run).
				cfg.Topic, cfg.Sub = dockertest.UniqueTopic(t), "smoke-"+c.Name+"-"+sc.Name
				if sc.Kind == Consume {
					// Count from the start: a fast client can drain the whole
					// backlog during a warm-up and then measure nothing.
					cfg.Topic, cfg.Warmup = backlog, 0
				}
				r := RunChild(c, cfg, sc)
				if r.Err != "" || r.Msgs <= 0 || r.Seconds <= 0 {
					t.Fatalf("%s: %+v", c.Name, r)
				}
				// The row must have drained the whole backlog; with warm-up 0 a
				// few messages may still land before the window opens.
				if sc.Kind == Consume && (r.Msgs > smokeBacklog || !strings.HasPrefix(r.Note, "drained ") ||
					!strings.Contains(r.Note, fmt.Sprintf("(backlog %d − %d in warm-up)", smokeBacklog, smokeBacklog-r.Msgs))) {
					t.Errorf("%s: drained %d of a backlog of %d: %q", c.Name, r.Msgs, smokeBacklog, r.Note)
				}
				if sc.Kind == Produce && math.IsNaN(r.P50) {
					t.Errorf("%s: no latency recorded", c.Name)
				}
				t.Logf("%s", strings.Join(r.Row(), " "))
			})
		}
	}
}

func TestParseJavaPeriodic(t *testing.T) {
	const prod = `2026-12-03T17:38:10,351+0000 [main] INFO  org.apache.pulsar.testclient.PerformanceProducer - Throughput produced:  181580 msg ---  12074.3 msg/s ---      9.2 Mbit/s  --- failure      0.0 msg/s --- Latency: mean:  30.610 ms - med:  19.088 - 95pct:  88.554 - 99pct: 161.727 - 99.9pct: 218.955 - 99.99pct: 223.137 - Max: 224.316`
	s, ok := ParseJavaPeriodic(prod)
	if !ok || s.Count != 181580 || s.Rate != 12074.3 || s.P50 != 19.088 || s.P95 != 88.554 || s.P99 != 161.727 || s.P999 != 218.955 {
		t.Fatalf("produce line: %+v %v", s, ok)
	}
	const cons = `2026-12-03T17:40:10,351+0000 [main] INFO  org.apache.pulsar.testclient.PerformanceConsumer - Throughput received: 1,234,567 msg --- 51308.136  msg/s --- 39.145 Mbit/s  --- AckRate: 51307.9 msg/s --- ack failed 0 msg`
	s, ok = ParseJavaPeriodic(cons)
	if !ok || s.Count != 1234567 || s.Rate != 51308.136 || !math.IsNaN(s.P50) {
		t.Fatalf("consume line: %+v %v", s, ok)
	}
	if _, ok := ParseJavaPeriodic("2026-12-03T17:36:36,475+0000 [perf-client-shutdown] INFO  x - Aggregated throughput stats --- 300000 records received --- 51308.136 msg/s"); ok {
		t.Error("parsed the aggregate line")
	}
	if m := javaAggCons.FindStringSubmatch("Aggregated throughput stats --- 300000 records received --- 51308.136 msg/s"); m == nil || atoi64(m[1]) != 300000 {
		t.Errorf("aggregate: %v", m)
	}
}

func TestRatiosAndOrder(t *testing.T) {
	if got := strings.Join(stargateLast([]string{"stargate", "raw-blaster", "pulsar-perf"}), ","); got != "raw-blaster,pulsar-perf,stargate" {
		t.Errorf("stargateLast = %s", got)
	}
	if AllClients[len(AllClients)-1] != Stargate.Name {
		t.Errorf("AllClients does not end with stargate: %v", AllClients)
	}
	rs := []Result{
		{Client: Blaster.Name, Scenario: "consume-push", Msgs: 200, Seconds: 1},
		{Client: PulsarGo.Name, Scenario: "consume-push", Msgs: 0, Seconds: 1},
		NA(JavaPerf, "consume-push", "none"),
		{Client: JavaClient, Scenario: "consume-push", Msgs: 400, Seconds: 1},
		{Client: Stargate.Name, Scenario: "consume-push", Msgs: 100, Seconds: 1},
	}
	var b bytes.Buffer
	if err := WriteRatios(&b, rs); err != nil {
		t.Fatal(err)
	}
	if want := "| consume-push | 100 | 0.500 | n/a | n/a | 0.250 |"; !strings.Contains(b.String(), want) {
		t.Errorf("ratios:\n%s\nwant line %s", b.String(), want)
	}
	// a row without messages never shows a rate of 0
	row := rs[1].Row()
	if row[2] != "n/a" || !strings.Contains(row[len(row)-1], "no message") {
		t.Errorf("empty row: %v", row)
	}
}

// fakeConsumer delivers first messages at once, then the rest of the
// backlog as soon as the window is open.
func fakeConsumer(first int64) Client {
	return Client{
		Name:     "fake",
		Supports: func(Scenario) (bool, string) { return true, "" },
		Start: func(ctx context.Context, cfg Config, sc Scenario, m *Meter) (func(), error) {
			var wg sync.WaitGroup
			wg.Go(func() {
				for range first {
					m.Received(nil, -1)
				}
				for !m.Measuring() { // the window opens after cfg.Warmup
					if ctx.Err() != nil {
						return
					}
					time.Sleep(time.Millisecond)
				}
				for i := first; i < int64(cfg.Prefill) && ctx.Err() == nil; i++ {
					m.Received(nil, -1)
				}
				<-ctx.Done()
			})
			return wg.Wait, nil
		},
	}
}

func TestConsumeDrainsTheBacklog(t *testing.T) {
	sc, _ := ScenarioByName("consume-push")
	cfg := Config{Warmup: 20 * time.Millisecond, Duration: time.Hour, Prefill: 10000, DrainTimeout: time.Minute}
	r := RunChild(fakeConsumer(3000), cfg, sc)
	if r.Err != "" || r.Msgs != 7000 || r.Seconds <= 0 || r.Seconds > 60 || !strings.Contains(r.Note, "drained 7000") {
		t.Fatalf("drain row: %+v", r)
	}
	r = RunChild(fakeConsumer(10000), cfg, sc)
	if !strings.Contains(r.Err, "drained during the") || r.Msgs != 0 || r.Row()[2] != "n/a" {
		t.Fatalf("backlog drained in the warm-up: %+v", r)
	}
	cfg.Prefill = 0
	if r = RunChild(fakeConsumer(0), cfg, sc); r.Err == "" {
		t.Fatalf("no backlog size: %+v", r)
	}
}
