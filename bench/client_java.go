package bench

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// JavaClient is the name of the rows of the Java client over the binary
// protocol: `pulsar-perf produce` and `pulsar-perf consume` from the Pulsar
// distribution (the consume anchor beside pulsar-client-go).
const JavaClient = "pulsar-perf"

// JavaClientSupports tells which scenarios pulsar-perf produce/consume runs.
func JavaClientSupports(sc Scenario) (bool, string) {
	switch {
	case sc.Kind == E2E:
		return false, "no paced produce+consume pair in one process"
	case sc.Pull:
		return false, "no pull mode (flow is the client's receiver queue)"
	}
	return true, ""
}

var (
	javaPeriodic = regexp.MustCompile(`^(\S+) .*Throughput (?:produced|received):\s+([\d,]+) msg ---\s+([\d.,]+)\s+msg/s`)
	javaLatency  = regexp.MustCompile(`med:\s+([\d.]+).*? 95pct:\s+([\d.]+).*? 99pct:\s+([\d.]+).*? 99\.9pct:\s+([\d.]+)`)
	javaStart    = regexp.MustCompile(`^(\S+) .*Start receiving from`)
	javaDone     = regexp.MustCompile(`^(\S+) .*-{5,} DONE -{5,}`)
	javaAggCons  = regexp.MustCompile(`Aggregated throughput stats --- ([\d,]+) records received`)
)

func javaTime(s string) (time.Time, bool) {
	t, err := time.Parse("2006-01-02T15:04:05,000-0700", s)
	return t, err == nil
}

func atoi64(s string) int64 {
	n, _ := strconv.ParseInt(strings.ReplaceAll(s, ",", ""), 10, 64)
	return n
}

// ParseJavaPeriodic parses one periodic line of pulsar-perf produce or
// consume (cumulative count, interval rate, interval latency when shown).
func ParseJavaPeriodic(line string) (PerfSample, bool) {
	m := javaPeriodic.FindStringSubmatch(line)
	if m == nil {
		return PerfSample{}, false
	}
	at, ok := javaTime(m[1])
	if !ok {
		return PerfSample{}, false
	}
	rate, _ := strconv.ParseFloat(strings.ReplaceAll(m[3], ",", ""), 64)
	s := PerfSample{At: at, Count: atoi64(m[2]), Rate: rate, P50: math.NaN(), P95: math.NaN(), P99: math.NaN(), P999: math.NaN()}
	if l := javaLatency.FindStringSubmatch(line); l != nil {
		f := func(i int) float64 { v, _ := strconv.ParseFloat(l[i], 64); return v }
		s.P50, s.P95, s.P99, s.P999 = f(1), f(2), f(3), f(4)
	}
	return s, true
}

// RunJavaClient runs pulsar-perf produce or consume (binary protocol) for sc.
//
// Produce: -r unbounded, -o cfg.Window outstanding messages, batching off
// (-db) or the client's own (-bm 1000 -b 1, like pulsar-client-go); rate,
// CPU and wire bytes between its first and last 10-s periodic lines (JVM
// start and the first, JIT-warm-up, interval excluded); latency of the last
// interval.
//
// Consume: the same backlog and method as the Go clients (own subscription
// from Earliest, -q cfg.Window, -m cfg.Prefill so it exits after the whole
// backlog). The window runs from its first 10-s periodic line (or, when it
// drains sooner, from "Start receiving", JIT warm-up included — the note
// says so) to its "DONE" line; the count is the backlog minus what the
// first line had counted, and the aggregate line must confirm the total.
func RunJavaClient(ctx context.Context, home string, cfg Config, sc Scenario) (r Result) {
	r = Result{Client: JavaClient, Scenario: sc.Name, Allocs: -1, WireBytes: -1, PeakRSS: -1, BrokerCPUSeconds: math.NaN()}
	r.SetLatency(nil)
	if cfg.Service == "" {
		r.Err = "no pulsar:// service URL (-service)"
		return r
	}
	dir, err := os.MkdirTemp("", "pulsar-perf-")
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer os.RemoveAll(dir)
	var args []string
	limit := cfg.drainTimeout() + 3*time.Minute
	switch sc.Kind {
	case Produce:
		secs := 10*int(math.Ceil((cfg.Duration+cfg.Warmup).Seconds()/10)) + 11
		limit = time.Duration(secs)*time.Second + 3*time.Minute
		args = []string{"produce", "-u", cfg.Service, "-r", "10000000", "-s", strconv.Itoa(sc.Size),
			"-o", strconv.Itoa(cfg.Window), "-time", strconv.Itoa(secs)}
		if sc.Batching {
			args = append(args, "-bm", "1000", "-b", "1")
		} else {
			args = append(args, "-db")
		}
		if sc.Producers > 1 {
			args = append(args, "-t", strconv.Itoa(sc.Producers))
		}
		for i := range max(sc.Producers, 1) {
			args = append(args, cfg.TopicN(sc, i))
		}
	case Consume:
		if cfg.Prefill <= 0 {
			r.Err = "consume row without a backlog size (-prefill)"
			return r
		}
		args = []string{"consume", "-u", cfg.Service, "-sp", "Earliest", "-ss", cfg.Sub, "-st", "Exclusive",
			"-q", strconv.Itoa(cfg.Window), "-m", strconv.Itoa(cfg.Prefill), "-time", "0", cfg.Topic}
	default:
		return NA(JavaClient, sc.Name, "unsupported")
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
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
	pid := cmd.Process.Pid
	bcpu := StartBrokerCPU(cfg.BrokerPID)
	mark := func(at time.Time, count int64) PerfSample {
		s := PerfSample{At: at, Count: count}
		s.CPU, s.HaveCPU = procCPU(pid)
		s.BrokerCPU = bcpu.Seconds()
		s.IO = procIO(strconv.Itoa(pid))
		s.HaveI = s.IO >= 0
		if rss := peakRSS(strconv.Itoa(pid)); rss > 0 {
			r.PeakRSS = rss
		}
		return s
	}
	var samples []PerfSample
	var start, done *PerfSample
	var tail []string
	total := int64(-1)
	lines := bufio.NewScanner(pipe)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	for lines.Scan() {
		line := lines.Text()
		if s, ok := ParseJavaPeriodic(line); ok {
			m := mark(s.At, s.Count)
			s.CPU, s.HaveCPU, s.BrokerCPU, s.IO, s.HaveI = m.CPU, m.HaveCPU, m.BrokerCPU, m.IO, m.HaveI
			samples = append(samples, s)
			continue
		}
		if m := javaStart.FindStringSubmatch(line); m != nil && start == nil {
			if at, ok := javaTime(m[1]); ok {
				s := mark(at, 0)
				start = &s
			}
			continue
		}
		if m := javaDone.FindStringSubmatch(line); m != nil && done == nil {
			if at, ok := javaTime(m[1]); ok {
				s := mark(at, int64(cfg.Prefill))
				done = &s
			}
			continue
		}
		if m := javaAggCons.FindStringSubmatch(line); m != nil {
			total = atoi64(m[1])
			continue
		}
		if strings.Contains(line, "ERROR") || strings.Contains(line, "Exception") {
			tail = append(tail, line)
		}
	}
	werr := cmd.Wait()
	defer func() {
		// Netty's socket I/O bypasses rchar/wchar of /proc/<pid>/io (a
		// consume row read 0.011 MiB/s for 2.5 MiB/s of payload): no wire
		// figure rather than a wrong one.
		r.WireBytes = -1
	}()
	errTail := strings.Join(tail[:min(len(tail), 2)], " ")
	if sc.Kind == Produce {
		if len(samples) < 2 {
			r.Err = fmt.Sprintf("pulsar-perf produce gave %d periodic lines (exit: %v) %s", len(samples), werr, errTail)
			return r
		}
		r = perfResult(r, samples)
		r.Note = "latency: last 10-s interval"
		return r
	}
	switch {
	case done == nil || total != int64(cfg.Prefill):
		r.Err = fmt.Sprintf("pulsar-perf consume did not drain the backlog of %d (received %d, exit: %v) %s", cfg.Prefill, total, werr, errTail)
		return r
	case len(samples) > 0 && samples[0].Count < int64(cfg.Prefill):
		r = perfResult(r, []PerfSample{samples[0], *done})
		r.Note = fmt.Sprintf("drained %d (backlog %d − %d before its first 10-s line) in %.2f s", r.Msgs, cfg.Prefill, samples[0].Count, r.Seconds)
	case start != nil:
		r = perfResult(r, []PerfSample{*start, *done})
		r.Note = fmt.Sprintf("drained %d in %.2f s, before its first 10-s line: JIT warm-up included", r.Msgs, r.Seconds)
	default:
		r.Err = "pulsar-perf consume printed no start line"
		return r
	}
	r.P50, r.P95, r.P99, r.P999 = math.NaN(), math.NaN(), math.NaN(), math.NaN()
	return r
}
