package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// JavaPerf is the name of the pulsar-perf websocket-producer row.
const JavaPerf = "pulsar-perf-ws"

// GoClients are the clients that run in a Go child process, by name.
var GoClients = map[string]Client{
	Stargate.Name: Stargate,
	Blaster.Name:  Blaster,
	Naive.Name:    Naive,
	PulsarGo.Name: PulsarGo,
}

// AllClients is the default client list, in table order. stargate comes
// last: the broker JVM's JIT and caches then favour the peers, not us (Run
// moves it last in any list).
var AllClients = []string{Blaster.Name, Naive.Name, JavaPerf, JavaClient, PulsarGo.Name, Stargate.Name}

// stargateLast returns names with stargate moved to the end.
func stargateLast(names []string) []string {
	out := make([]string, 0, len(names))
	last := false
	for _, n := range names {
		if n == Stargate.Name {
			last = true
			continue
		}
		out = append(out, n)
	}
	if last {
		out = append(out, Stargate.Name)
	}
	return out
}

// JavaSupports tells which scenarios pulsar-perf websocket-producer can run.
func JavaSupports(sc Scenario) (bool, string) {
	switch {
	case sc.Kind == Consume:
		return false, "pulsar-perf has no WebSocket consumer"
	case sc.Kind == E2E:
		return false, "no WebSocket consumer; latency is send→receipt only"
	case sc.Batching:
		return false, "websocket-producer cannot ask for batchingEnabled"
	}
	return true, ""
}

// RunConfig configures Run.
type RunConfig struct {
	Config
	Clients    []string
	Scenarios  []Scenario
	PulsarHome string // Pulsar distribution with bin/pulsar-perf; "" skips the Java client
	Self       string // this executable, re-run with -child
	Log        io.Writer
}

// Run runs every scenario with every client, one process per pair, and
// returns the rows in scenario-major order.
func Run(ctx context.Context, rc RunConfig) []Result {
	logf := func(format string, args ...any) {
		if rc.Log != nil {
			fmt.Fprintf(rc.Log, format+"\n", args...)
		}
	}
	id := strconv.FormatInt(time.Now().Unix(), 36)
	backlog := ""
	var out []Result
	clients := stargateLast(rc.Clients)
	for _, sc := range rc.Scenarios {
		if sc.Kind == Consume && backlog == "" {
			backlog = "persistent://public/default/bench-" + id + "-backlog"
			cfg := rc.Config
			cfg.Topic = backlog
			t := time.Now()
			logf("prefilling %s with %d messages of %d B (pulsar-client-go, batching)", backlog, rc.Prefill, sc.Size)
			pctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
			err := Prefill(pctx, cfg, rc.Prefill, sc.Size)
			cancel()
			if err != nil {
				logf("prefill: %v", err)
			}
			logf("prefill done in %v", time.Since(t).Round(time.Millisecond))
			if err != nil {
				backlog = "" // every consume row must say so, not drain a partial backlog
			}
		}
		for _, name := range clients {
			if ctx.Err() != nil {
				return out
			}
			cfg := rc.Config
			cfg.Topic = "persistent://public/default/bench-" + id + "-" + sc.Name + "-" + name
			cfg.Sub = "sub-" + name + "-" + sc.Name
			if sc.Kind == Consume {
				cfg.Topic = backlog
			}
			var r Result
			switch {
			case sc.Kind == Consume && backlog == "":
				r = Result{Client: name, Scenario: sc.Name, Err: "prefill of the backlog failed", BrokerCPUSeconds: math.NaN()}
				r.SetLatency(nil)
			case name == JavaClient:
				if ok, why := JavaClientSupports(sc); !ok {
					r = NA(name, sc.Name, why)
				} else if rc.PulsarHome == "" {
					r = NA(name, sc.Name, "no Pulsar distribution found")
				} else {
					logf("running %s / %s", name, sc.Name)
					r = RunJavaClient(ctx, rc.PulsarHome, cfg, sc)
				}
			case name == JavaPerf:
				if ok, why := JavaSupports(sc); !ok {
					r = NA(name, sc.Name, why)
				} else if rc.PulsarHome == "" {
					r = NA(name, sc.Name, "no Pulsar distribution found")
				} else {
					logf("running %s / %s", name, sc.Name)
					r = RunPulsarPerf(ctx, rc.PulsarHome, cfg, sc)
				}
			default:
				c, ok := GoClients[name]
				if !ok {
					r = Result{Client: name, Scenario: sc.Name, Err: "unknown client"}
					break
				}
				if ok, why := c.Supports(sc); !ok {
					r = NA(name, sc.Name, why)
					break
				}
				logf("running %s / %s", name, sc.Name)
				r = runChildProcess(ctx, rc.Self, name, cfg, sc)
			}
			if !r.NA {
				logf("  %s", strings.Join(r.Row(), "  "))
			}
			out = append(out, r)
		}
	}
	return out
}

// ChildArgs are the flags that make the command run one client in-process.
func ChildArgs(client string, cfg Config, sc Scenario) []string {
	return []string{"-child", client, "-scenarios", sc.Name, "-topic", cfg.Topic, "-sub", cfg.Sub,
		"-url", cfg.URL, "-service", cfg.Service, "-duration", cfg.Duration.String(),
		"-warmup", cfg.Warmup.String(), "-window", strconv.Itoa(cfg.Window),
		"-broker-pid", strconv.Itoa(cfg.BrokerPID), "-prefill", strconv.Itoa(cfg.Prefill),
		"-drain-timeout", cfg.drainTimeout().String()}
}

func runChildProcess(ctx context.Context, self, client string, cfg Config, sc Scenario) Result {
	ctx, cancel := context.WithTimeout(ctx, cfg.Warmup+max(cfg.Duration, cfg.drainTimeout())+2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, self, ChildArgs(client, cfg, sc)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var r Result
	if jerr := json.Unmarshal(stdout.Bytes(), &r); jerr != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 300 {
			msg = msg[len(msg)-300:]
		}
		r = Result{Client: client, Scenario: sc.Name, Err: fmt.Sprintf("child: %v: %s", err, msg)}
		r.SetLatency(nil)
		r.BrokerCPUSeconds = math.NaN()
		return r
	}
	return r
}

var perfLine = regexp.MustCompile(`^(\S+) .*Throughput produced:\s+(\d+) msg ---\s+([\d.]+)\s+msg/s ---\s+([\d.]+) Mbit/s --- Latency: mean:\s+([\d.]+) ms - med:\s+([\d.]+) ms - 95pct:\s+([\d.]+) ms - 99pct:\s+([\d.]+) ms - 99.9pct:\s+([\d.]+) ms`)

// PerfSample is one periodic line of pulsar-perf websocket-producer with the
// process counters read when it arrived.
type PerfSample struct {
	At             time.Time // the line's own timestamp
	Count          int64     // cumulative messages
	Rate           float64
	P50, P95, P99  float64 // ms, over the line's interval
	P999           float64
	CPU            time.Duration
	BrokerCPU      float64 // seconds since the run started; NaN: unknown
	IO             int64
	HaveCPU, HaveI bool
}

// ParsePerfLine parses one periodic output line of websocket-producer.
func ParsePerfLine(line string) (PerfSample, bool) {
	m := perfLine.FindStringSubmatch(line)
	if m == nil {
		return PerfSample{}, false
	}
	at, err := time.Parse("2006-01-02T15:04:05,000-0700", m[1])
	if err != nil {
		return PerfSample{}, false
	}
	f := func(i int) float64 { v, _ := strconv.ParseFloat(m[i], 64); return v }
	n, _ := strconv.ParseInt(m[2], 10, 64)
	return PerfSample{At: at, Count: n, Rate: f(3), P50: f(6), P95: f(7), P99: f(8), P999: f(9)}, true
}

// RunPulsarPerf runs `pulsar-perf websocket-producer` for sc and turns its
// periodic output into a row. Its method: one sender thread, a RateLimiter
// (set far above reach here), each frame write awaited, receipts not — no
// in-flight window; latency is write → receipt with the same context, over
// 5-s intervals (the last complete interval is reported). Rate, CPU and wire
// bytes are taken between the first and last periodic lines, so JVM start-up
// and the first interval (JIT warm-up) are excluded.
func RunPulsarPerf(ctx context.Context, home string, cfg Config, sc Scenario) Result {
	r := Result{Client: JavaPerf, Scenario: sc.Name, Allocs: -1, WireBytes: -1, PeakRSS: -1, BrokerCPUSeconds: math.NaN()}
	r.SetLatency(nil)
	secs := 5*int(math.Ceil((cfg.Duration.Seconds()+1)/5)) + 6
	dir, err := os.MkdirTemp("", "pulsar-perf-")
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer os.RemoveAll(dir)
	args := []string{"websocket-producer", "-u", strings.TrimRight(cfg.URL, "/") + "/", "-r", "10000000",
		"-s", strconv.Itoa(sc.Size), "-time", strconv.Itoa(secs)}
	if sc.Producers > 1 {
		args = append(args, "-t", strconv.Itoa(sc.Producers))
	}
	args = append(args, cfg.Topic)
	ctx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(home, "bin", "pulsar-perf"), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PULSAR_LOG_DIR="+dir)
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		r.Err = err.Error()
		return r
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		r.Err = err.Error()
		return r
	}
	bcpu := StartBrokerCPU(cfg.BrokerPID)
	var samples []PerfSample
	var tail []string
	var mu sync.Mutex
	sc2 := bufio.NewScanner(pipe)
	sc2.Buffer(make([]byte, 1<<20), 1<<20)
	for sc2.Scan() {
		line := sc2.Text()
		s, ok := ParsePerfLine(line)
		if !ok {
			if strings.Contains(line, "ERROR") || strings.Contains(line, "Exception") {
				mu.Lock()
				tail = append(tail, line)
				mu.Unlock()
			}
			continue
		}
		s.CPU, s.HaveCPU = procCPU(cmd.Process.Pid)
		s.BrokerCPU = bcpu.Seconds()
		s.IO = procIO(strconv.Itoa(cmd.Process.Pid))
		s.HaveI = s.IO >= 0
		if rss := peakRSS(strconv.Itoa(cmd.Process.Pid)); rss > 0 {
			r.PeakRSS = rss
		}
		samples = append(samples, s)
	}
	werr := cmd.Wait()
	if len(samples) < 2 {
		r.Err = fmt.Sprintf("pulsar-perf gave %d periodic lines (exit: %v) %s", len(samples), werr, strings.Join(tail[:min(len(tail), 2)], " "))
		return r
	}
	r = perfResult(r, samples)
	return r
}

// perfResult turns periodic samples into the window fields of r.
func perfResult(r Result, samples []PerfSample) Result {
	a, b := samples[0], samples[len(samples)-1]
	r.Msgs = b.Count - a.Count
	r.Seconds = b.At.Sub(a.At).Seconds()
	r.PayloadBytes = r.Msgs * int64(sizeOf(r.Scenario))
	r.CPUSeconds = math.NaN()
	if a.HaveCPU && b.HaveCPU {
		r.CPUSeconds = (b.CPU - a.CPU).Seconds()
	}
	if a.HaveI && b.HaveI {
		r.WireBytes = b.IO - a.IO
	}
	r.BrokerCPUSeconds = b.BrokerCPU - a.BrokerCPU // NaN if either is
	r.P50, r.P95, r.P99, r.P999 = b.P50, b.P95, b.P99, b.P999
	r.Note = "latency: last 5-s interval; no in-flight window"
	return r
}

func sizeOf(scenario string) int {
	if sc, ok := ScenarioByName(scenario); ok {
		return sc.Size
	}
	return 0
}
